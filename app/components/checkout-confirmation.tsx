// Back from Checkout with a subscription in place: say that it worked and what the org has now.
// (Before the webhook has converged, the dashboard says "Setting up your subscription…".)
import { Alert } from "@mantine/core";
import { formatDate } from "./format";

export function CheckoutConfirmation({
  subscription: s,
  planName,
  timeZone,
}: {
  subscription: { status: string; trialEnd: string | null; periodEnd: string };
  planName: string;
  timeZone: string;
}) {
  return (
    <Alert color="teal" role="status" title={s.status === "trialing" ? "Your free trial has started" : "Payment received"} data-testid="checkout-confirmed">
      {s.status === "trialing" && s.trialEnd
        ? `You are on ${planName} until ${formatDate(s.trialEnd, timeZone)}; nothing is charged before then.`
        : `You are on ${planName}; your quota applies now and the plan renews on ${formatDate(s.periodEnd, timeZone)}.`}{" "}
      A receipt is on the Invoices page.
    </Alert>
  );
}
