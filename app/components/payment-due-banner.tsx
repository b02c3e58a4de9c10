// The portal's one word on a failed payment, on every page: what is owed, since when, until when
// API calls continue, and "Update card and pay" (the Stripe billing portal, where a new card pays
// the open invoice at once). Members, who cannot open the billing portal, are told who can.
import { Alert, Group, Text } from "@mantine/core";
import { formatDate, formatMoney } from "./format";
import { StripeButton } from "./stripe-button";

export type PaymentDue = {
  status: string;
  amountDue: number;
  currency: string | null;
  failedAt: string | null;
  graceEndsAt: string | null;
};

export function PaymentDueBanner({ due, timeZone, canPay }: { due: PaymentDue; timeZone: string; canPay: boolean }) {
  const owed = due.currency && due.amountDue > 0 ? formatMoney(due.amountDue, due.currency) : "Your last invoice";
  const since = due.failedAt ? ` since ${formatDate(due.failedAt, timeZone)}` : "";
  return (
    <Alert color="red" role="alert" className="mb-4" title="Your last payment failed — update your card" data-testid="payment-due">
      <Group justify="space-between" align="flex-start">
        <Text size="sm" className="min-w-0 flex-1">
          {owed} is unpaid{since}.{" "}
          {due.graceEndsAt
            ? `Stripe retries the payment; API calls continue until ${formatDate(due.graceEndsAt, timeZone)}, then stop until it is paid.`
            : "Stripe has stopped retrying: API calls are refused until it is paid."}
          {canPay ? null : " Ask an admin of your organisation to update the card."}
        </Text>
        {canPay ? (
          <div>
            <StripeButton action="/billing" fields={{ intent: "portal" }} waitingFor="The Stripe billing portal" size="xs" color="red">
              Update card and pay
            </StripeButton>
          </div>
        ) : null}
      </Group>
    </Alert>
  );
}
