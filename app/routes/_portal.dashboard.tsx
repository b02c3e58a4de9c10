// Dashboard: plan, status, period, the usage meter with 80% / 100% warnings, and daily usage.
import { Alert, Badge, Button, Card, Group, Progress, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { json, type LoaderFunctionArgs, redirect } from "@remix-run/node";
import { Link, useLoaderData, useRevalidator, useSearchParams } from "@remix-run/react";
import { lazy, Suspense, useEffect, useState } from "react";
import { daysUntil, formatDate, formatMoney, formatNumber, formatPercent } from "~/components/format";
import { StatCard } from "~/components/stat-card";
import { usageOutlook } from "~/components/usage-outlook";
import { requireUser } from "~/server/auth/session.server";
import { subscriptionOverview } from "~/server/billing/overview.server";
import { planByCode } from "~/server/billing/plans.server";
import { convergeCheckoutReturn } from "~/server/billing/reconcile.server";
import { pastDueGraceEnds } from "~/server/billing/subscriptions.server";
import { getOrg } from "~/server/orgs/orgs.server";
import { dailyUsage } from "~/server/usage/daily.server";

const UsageChart = lazy(() => import("~/components/usage-chart"));

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request);
  // Back from Checkout: converge from the session Stripe names (the org's own only), then drop
  // the id from the address, so reloads and the polling below ask Stripe nothing.
  const url = new URL(request.url);
  const sessionId = url.searchParams.get("session_id");
  if (sessionId !== null) {
    await convergeCheckoutReturn(user.orgId, sessionId);
    url.searchParams.delete("session_id");
    throw redirect(`${url.pathname}${url.search}`);
  }
  const org = await getOrg(user.orgId);
  const { subscription, usage } = await subscriptionOverview(user.orgId);
  const days = usage
    ? await dailyUsage({ orgId: user.orgId, metric: "api_call", periodStart: usage.periodStart, periodEnd: usage.periodEnd, timeZone: org.timeZone })
    : [];
  const plan = subscription ? planByCode(subscription.planCode) : undefined;
  const renewsAs = plan ? planByCode(plan.billedAs) : undefined;
  // A failed payment keeps the quota for the grace days after the period start, then stops it.
  const graceEndsAt = subscription?.status === "past_due" ? await pastDueGraceEnds(user.orgId) : null;
  return json({
    timeZone: org.timeZone,
    subscription,
    usage,
    days,
    now: Date.now(),
    graceEndsAt,
    renewsAs: renewsAs && { name: renewsAs.name, priceMonthly: renewsAs.priceMonthly, currency: renewsAs.currency },
  });
};

export default function Dashboard() {
  const { timeZone, subscription, usage, days, now, renewsAs, graceEndsAt } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const revalidator = useRevalidator();
  const justPaid = params.get("checkout") === "success";
  // The chart measures its container: it renders in the browser only, loaded after hydration.
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  // Right after Checkout the webhook may still be converging: look again shortly.
  useEffect(() => {
    if (!justPaid || subscription) return;
    const t = setInterval(() => revalidator.revalidate(), 1000);
    return () => clearInterval(t);
  }, [justPaid, subscription, revalidator]);

  if (!subscription) {
    return (
      <Stack>
        <Title order={2}>Dashboard</Title>
        {justPaid ? (
          <Alert color="blue" title="Payment received">
            Setting up your subscription… this takes a second.
          </Alert>
        ) : (
          <Card withBorder padding="xl">
            <Title order={4}>No plan yet</Title>
            <Text c="dimmed" className="mt-1">
              Start a free trial or pick a plan to get an API quota.
            </Text>
            <Button component={Link} to="/billing" className="mt-4">
              Choose a plan
            </Button>
          </Card>
        )}
      </Stack>
    );
  }

  const outlook = usage ? usageOutlook({ ...usage, now }) : null;
  const pct = outlook ? Math.min(100, outlook.fraction * 100) : 0;
  const trialDaysLeft = subscription.status === "trialing" && subscription.trialEnd ? daysUntil(subscription.trialEnd) : null;
  return (
    <Stack gap="lg">
      <Group justify="space-between">
        <Title order={2}>Dashboard</Title>
        <Group gap="xs">
          <Badge size="lg" variant="light">
            {subscription.planCode}
          </Badge>
          <Badge size="lg" color={subscription.status === "active" || subscription.status === "trialing" ? "teal" : "red"}>
            {subscription.status.replace("_", " ")}
          </Badge>
        </Group>
      </Group>

      {usage && usage.remaining === 0 ? (
        <Alert color="red" title="Quota reached" role="alert">
          You have used all {formatNumber(usage.included)} API calls of this period. Calls are refused until the period ends on{" "}
          {formatDate(usage.periodEnd, timeZone)} — or <Link to="/billing">upgrade now</Link>.
        </Alert>
      ) : usage && outlook && pct >= 80 ? (
        <Alert color="yellow" title={`${formatPercent(outlook.fraction)} of your quota used`} role="status">
          {formatNumber(usage.remaining)} API calls left until {formatDate(usage.periodEnd, timeZone)}. <Link to="/billing">Upgrade</Link> to avoid a hard stop.
        </Alert>
      ) : null}
      {graceEndsAt ? (
        <Text size="sm" c="red" data-testid="grace">
          Payment failed: API calls continue until {formatDate(graceEndsAt, timeZone)} while Stripe retries the payment.
        </Text>
      ) : subscription.status === "unpaid" ? (
        <Text size="sm" c="red" data-testid="grace">
          Payment failed after every retry: API calls are stopped until the invoice is paid.
        </Text>
      ) : null}
      {subscription.pendingPlanCode ? (
        <Alert color="blue">
          Your plan changes to {subscription.pendingPlanCode} on {formatDate(subscription.periodEnd, timeZone)}.
        </Alert>
      ) : null}

      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <StatCard label="API calls this period" value={usage ? formatNumber(usage.used) : "—"} valueTestId="usage-used">
          of {usage ? formatNumber(usage.included) : "—"} included
        </StatCard>
        <StatCard label="Period" value={`${formatDate(subscription.periodStart, timeZone)} – ${formatDate(subscription.periodEnd, timeZone)}`} small>
          {subscription.status === "trialing" ? "trial ends" : "renews"} in {daysUntil(subscription.periodEnd)} days
          {subscription.cancelAtPeriodEnd ? " (set to cancel)" : ""}
        </StatCard>
        {trialDaysLeft !== null && subscription.trialEnd ? (
          <StatCard label="Trial" value={`${trialDaysLeft} days left`}>
            {renewsAs
              ? `Then ${renewsAs.name} at ${formatMoney(renewsAs.priceMonthly, renewsAs.currency)}/month from ${formatDate(subscription.trialEnd, timeZone)}`
              : `Ends on ${formatDate(subscription.trialEnd, timeZone)}`}
          </StatCard>
        ) : (
          <StatCard label="Remaining" value={usage ? formatNumber(usage.remaining) : "—"}>
            API calls left
          </StatCard>
        )}
      </SimpleGrid>

      <Card withBorder>
        <Group justify="space-between">
          <Text fw={600} id="meter-label">
            Usage meter
          </Text>
          <Text size="sm" c="dimmed">
            {pct.toFixed(1)}%
          </Text>
        </Group>
        <Progress.Root size="lg" className="mt-2">
          <Progress.Section value={pct} color={pct >= 100 ? "red" : pct >= 80 ? "yellow" : "indigo"} aria-labelledby="meter-label" />
        </Progress.Root>
        {usage && usage.remaining > 0 ? (
          <Text size="sm" className="mt-2" data-testid="run-out">
            {outlook?.runsOutAt
              ? `At this rate you run out on ${formatDate(outlook.runsOutAt, timeZone)}, before the period ends on ${formatDate(usage.periodEnd, timeZone)}.`
              : usage.used > 0
                ? `At this rate your quota lasts until the period ends on ${formatDate(usage.periodEnd, timeZone)}.`
                : ""}
          </Text>
        ) : null}
      </Card>

      <Card withBorder>
        <Text fw={600} className="mb-3" id="chart-title">
          API calls used this period ({timeZone})
        </Text>
        {days.length === 0 || days.every((d) => d.quantity === 0) ? (
          <Text c="dimmed" size="sm">
            No usage yet this period. Create an API key and record your first call.
          </Text>
        ) : (
          <figure aria-labelledby="chart-title" className="m-0">
            <figcaption className="sr-only">
              {formatNumber(usage?.used ?? 0)} of {formatNumber(usage?.included ?? 0)} API calls used, over {days.length} days.
            </figcaption>
            {mounted ? (
              <Suspense fallback={<ChartPlaceholder />}>
                <UsageChart days={days} included={usage?.included ?? 0} />
              </Suspense>
            ) : (
              <ChartPlaceholder />
            )}
          </figure>
        )}
      </Card>
    </Stack>
  );
}

// The chart's final size, so nothing moves when it arrives.
const ChartPlaceholder = () => <div style={{ height: 240 }} className="rounded bg-gray-50" aria-hidden="true" />;
