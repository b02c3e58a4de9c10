// Dashboard: plan, status, period, and per metered feature of the plan a usage meter with
// 80% / 100% warnings and the period's daily usage; on a feature with an overage price, the
// overage so far and its projection to the period's end (docs/api.md, "Overage").
import { Alert, Badge, Button, Card, Group, Progress, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { json, type LoaderFunctionArgs, redirect } from "@remix-run/node";
import { Link, useLoaderData, useRevalidator, useSearchParams } from "@remix-run/react";
import { lazy, Suspense, useEffect, useState } from "react";
import { CheckoutConfirmation } from "~/components/checkout-confirmation";
import { FirstRunChecklist } from "~/components/first-run-checklist";
import { daysUntil, formatDate, formatMoney, formatNumber, formatPercent } from "~/components/format";
import { featureLabel, unitsOf } from "~/components/plan-terms";
import { StatCard } from "~/components/stat-card";
import { usageOutlook } from "~/components/usage-outlook";
import { keyActivity } from "~/server/auth/key-activity.server";
import { requireUser } from "~/server/auth/session.server";
import { planByCode } from "~/server/billing/plans.server";
import { convergeCheckoutReturn } from "~/server/billing/reconcile.server";
import { subscriptionSummary } from "~/server/billing/subscriptions.server";
import { usageMeters } from "~/server/billing/usage-meters.server";
import { getOrg } from "~/server/orgs/orgs.server";
import { config } from "~/server/platform/config.server";
import { isLive, statusColor, statusLabel } from "~/subscription-status";

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
  const subscription = await subscriptionSummary(user.orgId);
  // A meter and a chart per metered feature of the org's plan version (none without a live subscription).
  const now = Date.now();
  const meters = subscription && isLive(subscription.status) ? await usageMeters({ orgId: user.orgId, timeZone: org.timeZone, now }) : [];
  const plan = subscription ? planByCode(subscription.planCode) : undefined;
  const renewsAs = plan ? planByCode(plan.billedAs) : undefined;
  // The first-run checklist (while the org has a plan): its keys and the period's usage.
  const keys = meters.length > 0 ? await keyActivity(user.orgId) : null;
  const firstRun = keys && { keys: keys.keys, keyUsed: keys.used, usageRecorded: meters.some((m) => m.used > 0) };
  return json({
    timeZone: org.timeZone,
    subscription,
    meters,
    now,
    currency: plan?.currency ?? "usd",
    planName: plan?.name ?? subscription?.planCode ?? null,
    renewsAs: renewsAs && { name: renewsAs.name, priceMonthly: renewsAs.priceMonthly, currency: renewsAs.currency },
    firstRun,
    // The address API clients call: the configured one, else the one this page was asked at.
    baseUrl: config.APP_BASE_URL ?? new URL(request.url).origin,
    canCreateKeys: user.role === "admin",
  });
};

export default function Dashboard() {
  const { timeZone, subscription, meters, now, renewsAs, planName, currency, firstRun, baseUrl, canCreateKeys } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const revalidator = useRevalidator();
  const justPaid = params.get("checkout") === "success";
  // The charts measure their container: they render in the browser only, loaded after hydration.
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
        <Title order={1} size="h2">
          Dashboard
        </Title>
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

  const trialDaysLeft = subscription.status === "trialing" && subscription.trialEnd ? daysUntil(subscription.trialEnd) : null;
  const shown = meters.map((m) => ({ ...m, label: featureLabel(m.feature, "metered"), outlook: usageOutlook({ ...m, now }) }));
  return (
    <Stack gap="lg">
      <Group justify="space-between">
        <Title order={1} size="h2">
          Dashboard
        </Title>
        <Group gap="xs">
          <Badge size="lg" variant="light">
            {subscription.planCode}
          </Badge>
          <Badge size="lg" color={statusColor(subscription.status)}>
            {statusLabel(subscription.status)}
          </Badge>
        </Group>
      </Group>
      {justPaid ? <CheckoutConfirmation subscription={subscription} planName={planName ?? subscription.planCode} timeZone={timeZone} /> : null}
      {firstRun ? <FirstRunChecklist progress={firstRun} baseUrl={baseUrl} canCreateKeys={canCreateKeys} /> : null}

      {shown.map((m) =>
        m.included > 0 && m.remaining === 0 && m.overage ? (
          <Alert key={m.feature} color="yellow" title={`${m.label}: included units used`} role="status">
            You have used all {unitsOf(m.included, m.unit)} included this period. Usage past them is billed as overage on the invoice of{" "}
            {formatDate(m.periodEnd, timeZone)} (below) — or <Link to="/billing">upgrade</Link> for more included units.
          </Alert>
        ) : m.included > 0 && m.remaining === 0 ? (
          <Alert key={m.feature} color="red" title={`${m.label}: quota reached`} role="alert">
            You have used all {unitsOf(m.included, m.unit)} of this period. Requests that record {m.label.toLowerCase()} are refused until the period ends on{" "}
            {formatDate(m.periodEnd, timeZone)} — or <Link to="/billing">upgrade now</Link>.
          </Alert>
        ) : m.outlook.fraction >= 0.8 ? (
          <Alert key={m.feature} color="yellow" title={`${m.label}: ${formatPercent(m.outlook.fraction)} of your quota used`} role="status">
            {unitsOf(m.remaining, m.unit)} left until {formatDate(m.periodEnd, timeZone)}. <Link to="/billing">Upgrade</Link> to avoid a hard stop.
          </Alert>
        ) : null,
      )}
      {subscription.pendingPlanCode ? (
        <Alert color="blue">
          Your plan changes to {subscription.pendingPlanCode} on {formatDate(subscription.periodEnd, timeZone)}.
        </Alert>
      ) : null}

      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <StatCard label="Period" value={`${formatDate(subscription.periodStart, timeZone)} – ${formatDate(subscription.periodEnd, timeZone)}`} small>
          {periodNote(subscription)}
        </StatCard>
        {trialDaysLeft !== null && subscription.trialEnd ? (
          <StatCard label="Trial" value={`${trialDaysLeft} days left`}>
            {renewsAs
              ? `Then ${renewsAs.name} at ${formatMoney(renewsAs.priceMonthly, renewsAs.currency)}/month from ${formatDate(subscription.trialEnd, timeZone)}`
              : `Ends on ${formatDate(subscription.trialEnd, timeZone)}`}
          </StatCard>
        ) : (
          <StatCard label="Plan" value={planName ?? subscription.planCode} small>
            {subscription.status === "canceled" ? (
              <>
                ended — <Link to="/billing">resubscribe</Link>
              </>
            ) : subscription.cancelAtPeriodEnd ? (
              <>
                set to cancel — <Link to="/billing">keep my plan</Link>
              </>
            ) : (
              "renews automatically"
            )}
          </StatCard>
        )}
      </SimpleGrid>

      {shown.length === 0 ? (
        <Text c="dimmed" size="sm">
          No usage to show: the subscription is not active.
        </Text>
      ) : null}
      {shown.map((m) => (
        <FeatureUsage key={m.feature} meter={m} timeZone={timeZone} mounted={mounted} currency={currency} />
      ))}
    </Stack>
  );
}

/** What the period card says happens at the period's end. */
function periodNote(s: { status: string; periodEnd: string; cancelAtPeriodEnd: boolean }) {
  const days = daysUntil(s.periodEnd);
  if (s.status === "canceled") return "ended: the subscription was canceled";
  if (s.cancelAtPeriodEnd) return `ends in ${days} days: set to cancel, not renewing`;
  return `${s.status === "trialing" ? "trial ends" : "renews"} in ${days} days`;
}

type Meter = ReturnType<typeof useLoaderData<typeof loader>>["meters"][number] & { label: string; outlook: ReturnType<typeof usageOutlook> };

/** One metered feature: used of included with a meter, when it runs out at this rate, and the period's daily usage. */
function FeatureUsage({ meter: m, timeZone, mounted, currency }: { meter: Meter; timeZone: string; mounted: boolean; currency: string }) {
  const pct = Math.min(100, m.outlook.fraction * 100);
  const ids = { meter: `meter-label-${m.feature}`, chart: `chart-title-${m.feature}` };
  return (
    <Card withBorder aria-labelledby={ids.meter} component="section">
      <Group justify="space-between" align="baseline">
        <Title order={3} size="h4" id={ids.meter}>
          {m.label}
        </Title>
        <Text size="sm" c="dimmed">
          {pct.toFixed(1)}%
        </Text>
      </Group>
      <Text className="mt-1">
        <Text span fw={700} size="xl" data-testid={`usage-used-${m.feature}`}>
          {formatNumber(m.used)}
        </Text>{" "}
        of {unitsOf(m.included, m.unit)} used · {unitsOf(m.remaining, m.unit)} left
      </Text>
      <Progress.Root size="lg" className="mt-2">
        <Progress.Section value={pct} color={pct >= 100 ? "red" : pct >= 80 ? "yellow" : "indigo"} aria-labelledby={ids.meter} />
      </Progress.Root>
      {m.remaining > 0 ? (
        <Text size="sm" className="mt-2" data-testid={`run-out-${m.feature}`}>
          {m.outlook.runsOutAt
            ? `At this rate you run out on ${formatDate(m.outlook.runsOutAt, timeZone)}, before the period ends on ${formatDate(m.periodEnd, timeZone)}.`
            : m.used > 0
              ? `At this rate your quota lasts until the period ends on ${formatDate(m.periodEnd, timeZone)}.`
              : ""}
        </Text>
      ) : null}

      {m.overage ? <Overage meter={m} overage={m.overage} timeZone={timeZone} currency={currency} /> : null}

      <Text fw={600} className="mt-4 mb-3" id={ids.chart}>
        {m.label} used this period ({timeZone})
      </Text>
      {m.days.length === 0 || m.days.every((d) => d.quantity === 0) ? (
        <Text c="dimmed" size="sm">
          No {m.label.toLowerCase()} recorded yet this period.
        </Text>
      ) : (
        <figure aria-labelledby={ids.chart} className="m-0">
          <figcaption className="sr-only">
            {unitsOf(m.used, m.unit)} of {unitsOf(m.included, m.unit)} used, over {m.days.length} days.
          </figcaption>
          {mounted ? (
            <Suspense fallback={<ChartPlaceholder />}>
              <UsageChart days={m.days} included={m.included} series={m.label} />
            </Suspense>
          ) : (
            <ChartPlaceholder />
          )}
        </figure>
      )}
    </Card>
  );
}

/** The overage so far and, at this period's average rate, by its end: units and what Stripe will bill for them. */
function Overage({ meter: m, overage: o, timeZone, currency }: { meter: Meter; overage: NonNullable<Meter["overage"]>; timeZone: string; currency: string }) {
  return (
    <div className="mt-3" data-testid={`overage-${m.feature}`}>
      <Text size="sm">
        Overage so far:{" "}
        <Text span fw={700} data-testid={`overage-cents-${m.feature}`}>
          {formatMoney(o.cents, currency)}
        </Text>{" "}
        for {unitsOf(o.units, m.unit)} past the included ones, at {formatMoney(o.priceCents, currency)} per {unitsOf(o.per, m.unit)}, billed with the period's
        invoice.
      </Text>
      <Text size="sm" c="dimmed" data-testid={`overage-projection-${m.feature}`}>
        Projected by {formatDate(m.periodEnd, timeZone)}: {unitsOf(o.projectedUnits, m.unit)} over, {formatMoney(o.projectedCents, currency)} — if usage goes on
        at this period's average rate so far (a straight line over the time elapsed).
      </Text>
    </div>
  );
}

// The chart's final size, so nothing moves when it arrives.
const ChartPlaceholder = () => <div style={{ height: 240 }} className="rounded bg-gray-50" aria-hidden="true" />;
