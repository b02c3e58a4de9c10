// Billing: the current plan, plan cards (Checkout for an org without a plan), the Stripe portal.
import { Alert, Badge, Button, Card, Group, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { json, redirect, type LoaderFunctionArgs } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation, useSearchParams } from "@remix-run/react";
import { formatDate, formatMoney, formatNumber } from "~/components/format";
import { requireUser } from "~/server/auth.server";
import { openPortal, startCheckout } from "~/server/billing/billing.server";
import { AppError } from "~/server/errors.server";
import { getOrg, subscriptionSummary } from "~/server/orgs.server";
import { listPlans, planByCode, type PlanCode } from "~/server/plans.server";
import { portalAction } from "~/server/portal.server";

const LIVE = ["active", "trialing", "past_due"];

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request);
  const org = await getOrg(user.orgId);
  return json({ subscription: await subscriptionSummary(user.orgId), plans: listPlans(), timeZone: org.timeZone });
};

export const action = portalAction(async ({ user, form }) => {
  const intent = form.get("intent");
  if (intent === "checkout") {
    const planCode = String(form.get("planCode") ?? "");
    if (!planByCode(planCode)) throw new AppError("VALIDATION_FAILED", "Pick one of the plans.");
    const { url } = await startCheckout(user.orgId, planCode as PlanCode);
    return redirect(url);
  }
  if (intent === "portal") return redirect((await openPortal(user.orgId)).url);
  throw new AppError("VALIDATION_FAILED", "Unknown action.");
});

export default function Billing() {
  const { subscription, plans, timeZone } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const busy = useNavigation().state !== "idle";
  const live = subscription && LIVE.includes(subscription.status);
  return (
    <Stack gap="lg">
      <Group justify="space-between">
        <Title order={2}>Billing</Title>
        {subscription ? (
          <Form method="post">
            <input type="hidden" name="intent" value="portal" />
            <Button type="submit" variant="light" loading={busy}>Manage payment & invoices in Stripe</Button>
          </Form>
        ) : null}
      </Group>
      {result && !result.ok ? <Alert color="red" role="alert">{result.error}</Alert> : null}
      {params.get("checkout") === "canceled" ? <Alert color="gray">Checkout was canceled; nothing was charged.</Alert> : null}
      {subscription ? (
        <Card withBorder>
          <Group justify="space-between">
            <div>
              <Text size="sm" c="dimmed">Current plan</Text>
              <Text size="xl" fw={700}>{planByName(plans, subscription.planCode)}</Text>
            </div>
            <Badge size="lg" color={live ? "teal" : "red"}>{subscription.status.replace("_", " ")}</Badge>
          </Group>
          <Text size="sm" c="dimmed" className="mt-2">
            Current period {formatDate(subscription.periodStart, timeZone)} – {formatDate(subscription.periodEnd, timeZone)}
            {subscription.cancelAtPeriodEnd ? " · cancels at period end" : ""}
          </Text>
        </Card>
      ) : null}
      <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }}>
        {plans.map((p) => {
          const current = subscription?.planCode === p.code && live;
          return (
            <Card key={p.code} withBorder padding="lg" aria-label={`${p.name} plan`} className={current ? "ring-2 ring-indigo-500" : ""}>
              <Group justify="space-between">
                <Title order={4}>{p.name}</Title>
                {current ? <Badge>current</Badge> : p.trialDays ? <Badge color="teal">{p.trialDays} days free</Badge> : null}
              </Group>
              <Text size="lg" fw={700} className="mt-2">
                {p.trialDays ? "Free trial" : `${formatMoney(p.priceMonthly, p.currency)} / month`}
              </Text>
              <Text size="sm">{formatNumber(p.includedUnits.api_call ?? 0)} API calls included</Text>
              {!live ? (
                <Form method="post" className="mt-4">
                  <input type="hidden" name="intent" value="checkout" />
                  <input type="hidden" name="planCode" value={p.code} />
                  <Button type="submit" fullWidth loading={busy}>{p.trialDays ? "Start free trial" : `Subscribe to ${p.name}`}</Button>
                </Form>
              ) : null}
            </Card>
          );
        })}
      </SimpleGrid>
    </Stack>
  );
}

function planByName(plans: { code: string; name: string }[], code: string) {
  return plans.find((p) => p.code === code)?.name ?? code;
}
