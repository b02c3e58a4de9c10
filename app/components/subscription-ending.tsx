// The billing page's word on a subscription that ends: set to cancel at the period end (from the
// Stripe portal), with "Keep my plan"; or already canceled, with "Resubscribe" through Checkout.
import { Alert, Button, Group, Text } from "@mantine/core";
import { Form } from "@remix-run/react";
import { formatDate } from "./format";
import { StripeButton } from "./stripe-button";

type Ending = { planCode: string; status: string; periodEnd: string; cancelAtPeriodEnd: boolean; interval: "month" | "year" };

export function SubscriptionEnding({
  subscription: s,
  planName,
  resubscribeTo,
  timeZone,
}: {
  subscription: Ending;
  planName: (code: string) => string;
  /** The plan Resubscribe starts (null when the catalog no longer has it: the plan cards below then). */
  resubscribeTo: string | null;
  timeZone: string;
}) {
  if (s.status === "canceled")
    return (
      <Alert color="gray" className="mt-3" title="Your subscription has ended" data-testid="subscription-ended">
        <Text size="sm">
          Your {planName(s.planCode)} plan was canceled and ended on {formatDate(s.periodEnd, timeZone)}. API calls are refused until you subscribe again; your
          API keys and usage history are kept.
        </Text>
        {resubscribeTo ? (
          <Group className="mt-2">
            <StripeButton fields={{ intent: "checkout", planCode: resubscribeTo, interval: s.interval }} waitingFor="Checkout" size="xs">
              Resubscribe to {planName(resubscribeTo)}
            </StripeButton>
          </Group>
        ) : null}
      </Alert>
    );
  if (s.cancelAtPeriodEnd && s.status !== "unpaid")
    return (
      <Alert color="yellow" className="mt-3" title="Your plan is set to cancel" data-testid="subscription-canceling">
        <Group justify="space-between">
          <Text size="sm">
            {planName(s.planCode)} ends on {formatDate(s.periodEnd, timeZone)}: you will not be charged again, and API calls stop then.
          </Text>
          <Form method="post">
            <input type="hidden" name="intent" value="keep-subscription" />
            <Button type="submit" size="xs" variant="white">
              Keep my plan
            </Button>
          </Form>
        </Group>
      </Alert>
    );
  return null;
}
