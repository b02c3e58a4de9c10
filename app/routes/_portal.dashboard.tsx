// Dashboard: plan, status, period, and per metered feature of the plan a usage meter with
// 80% / 100% warnings and the period's daily usage; on a feature with an overage price, the
// overage so far and its projection to the period's end (docs/api.md, "Overage"). The chart spans
// the whole period with a forecast to the quota line; the alert follows that forecast; past
// periods are selectable; the period's history downloads as CSV (GET /api/v1/usage/history).
import { Alert, Anchor, Badge, Button, Card, Group, NativeSelect, Progress, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { json, type LoaderFunctionArgs, redirect } from "@remix-run/node";
import { Link, useLoaderData, useNavigate, useRevalidator, useSearchParams } from "@remix-run/react";
import { lazy, Suspense, useEffect, useState } from "react";
import { CheckoutConfirmation } from "~/components/checkout-confirmation";
import { FirstRunChecklist } from "~/components/first-run-checklist";
import { daysUntil, formatDate, formatMoney, formatNumber, formatPercent } from "~/components/format";
import { featureLabel, pendingPlanLabel, unitsOf } from "~/components/plan-terms";
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
import { countersOf, dailyUsageByMetric, pastPeriods } from "~/server/usage/daily.server";
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
  // A past period, when one is picked (?period=<its start>): its counters and days, no forecast.
  const periods = subscription ? await pastPeriods(user.orgId) : [];
  const picked = periods.find((p) => p.start === url.searchParams.get("period")) ?? null;
  const past = picked ? await pastPeriodMeters(user.orgId, picked, org.timeZone) : null;
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: org.timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
  const plan = subscription ? planByCode(subscription.planCode) : undefined;
  const renewsAs = plan ? planByCode(plan.billedAs) : undefined;
  // The first-run checklist (while the org has a plan): its keys and the period's usage.
  const keys = meters.length > 0 ? await keyActivity(user.orgId) : null;
  const firstRun = keys && { keys: keys.keys, keyUsed: keys.used, usageRecorded: meters.some((m) => m.used > 0) };
  return json({
    timeZone: org.timeZone,
    subscription,
    meters,
    periods,
    picked,
    past,
    today,
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

/** A past period's meters: what each metric used of what it included, and its days. */
async function pastPeriodMeters(orgId: string, period: { start: string; end: string }, timeZone: string) {
  const counters = await countersOf(orgId, period.start);
  const days = await dailyUsageByMetric({
    orgId,
    metrics: counters.map((c) => c.metric),
    periodStart: period.start,
    periodEnd: period.end,
    timeZone,
  });
  return counters.map((c) => ({ ...c, days: days[c.metric] ?? [] }));
}

/** The history API's CSV of a period, per day of the org's zone and per key (the session reads it). */
const historyCsvUrl = (period: { start: string; end: string }, timeZone: string) =>
  `/api/v1/usage/history?${new URLSearchParams({ from: period.start, to: period.end, granularity: "day", groupBy: "key", tz: timeZone, format: "csv" })}`;

export default function Dashboard() {
  const { timeZone, subscription, meters, now, renewsAs, planName, currency, periods, picked, past, today, firstRun, baseUrl, canCreateKeys } =
    useLoaderData<typeof loader>();
  const navigate = useNavigate();
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
  const unitOf: Record<string, string> = Object.fromEntries(meters.map((m) => [m.feature, m.unit]));
  // The period the CSV covers: the one picked, or the current allowance period.
  const shownPeriod = picked ?? (meters[0] ? { start: meters[0].periodStart, end: meters[0].periodEnd } : null);
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
        ) : m.outlook.fraction >= 0.8 || m.outlook.runsOutAt ? (
          // Past 80%, or on track to run out before the renewal at this period's rate, whatever the share.
          <Alert
            key={m.feature}
            color="yellow"
            title={
              m.outlook.fraction >= 0.8
                ? `${m.label}: ${formatPercent(m.outlook.fraction)} of your quota used`
                : `${m.label}: on track to run out on ${formatDate(m.outlook.runsOutAt!, timeZone)}`
            }
            role="status"
          >
            {m.outlook.runsOutAt
              ? `At this rate you run out on ${formatDate(m.outlook.runsOutAt, timeZone)}, before the renewal on ${formatDate(m.periodEnd, timeZone)}; ${unitsOf(m.remaining, m.unit)} left (${formatPercent(m.outlook.fraction)} used). `
              : `${unitsOf(m.remaining, m.unit)} left until ${formatDate(m.periodEnd, timeZone)}. `}
            <Link to="/billing">Upgrade</Link> to avoid a hard stop.
          </Alert>
        ) : null,
      )}
      {subscription.pendingPlanCode ? (
        <Alert color="blue">
          Your plan changes to {pendingPlanLabel(subscription, subscription.pendingPlanCode)} on {formatDate(subscription.periodEnd, timeZone)}.
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

      <Group justify="space-between" align="end">
        {periods.length > 0 ? (
          <NativeSelect
            label="Period shown"
            value={picked?.start ?? ""}
            onChange={(e) => {
              const start = e.currentTarget.value;
              navigate(start ? `/dashboard?${new URLSearchParams({ period: start })}` : "/dashboard");
            }}
            data={[
              { value: "", label: "Current period" },
              ...periods.map((p) => ({ value: p.start, label: `${formatDate(p.start, timeZone)} – ${formatDate(p.end, timeZone)}` })),
            ]}
          />
        ) : (
          <span />
        )}
        {shownPeriod ? (
          <Anchor href={historyCsvUrl(shownPeriod, timeZone)} download data-testid="history-csv">
            Download usage as CSV
          </Anchor>
        ) : null}
      </Group>

      {past ? (
        past.length === 0 ? (
          <Text c="dimmed" size="sm">
            No usage was recorded in that period.
          </Text>
        ) : (
          past.map((c) => <PastUsage key={c.metric} counter={c} unit={unitOf[c.metric] ?? "unit"} timeZone={timeZone} mounted={mounted} currency={currency} />)
        )
      ) : (
        <>
          {shown.length === 0 ? (
            <Text c="dimmed" size="sm">
              No usage to show: the subscription is not active.
            </Text>
          ) : null}
          {shown.map((m) => (
            <FeatureUsage key={m.feature} meter={m} timeZone={timeZone} mounted={mounted} currency={currency} today={today} />
          ))}
        </>
      )}
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
function FeatureUsage({ meter: m, timeZone, mounted, currency, today }: { meter: Meter; timeZone: string; mounted: boolean; currency: string; today: string }) {
  const pct = Math.min(100, m.outlook.fraction * 100);
  const ids = { meter: `meter-label-${m.feature}`, chart: `chart-title-${m.feature}` };
  return (
    <Card withBorder aria-labelledby={ids.meter} component="section">
      <Group justify="space-between" align="baseline">
        <Title order={3} size="h4" id={ids.meter}>
          {m.label}
        </Title>
        <Text size="sm" c="dimmed">
          {formatPercent(m.outlook.fraction)}
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
            {unitsOf(m.used, m.unit)} of {unitsOf(m.included, m.unit)} used so far, in a period of {m.days.length} days
            {m.outlook.runsOutAt ? `; at this rate the quota runs out on ${formatDate(m.outlook.runsOutAt, timeZone)}` : ""}.
          </figcaption>
          {mounted ? (
            <Suspense fallback={<ChartPlaceholder />}>
              <UsageChart days={m.days} included={m.included} series={m.label} today={today} perDay={m.outlook.perDay} />
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

type PastCounter = NonNullable<ReturnType<typeof useLoaderData<typeof loader>>["past"]>[number];

/**
 * One metered feature in a past period: what it used of what it included, the units paid with
 * prepaid credits (when any were), the overage and its charge (when the plan sold overage), and its days (no forecast).
 */
function PastUsage({
  counter: c,
  unit,
  timeZone,
  mounted,
  currency,
}: {
  counter: PastCounter;
  unit: string;
  timeZone: string;
  mounted: boolean;
  currency: string;
}) {
  const label = featureLabel(c.metric, "metered");
  const fraction = c.included > 0 ? c.used / c.included : 0;
  const id = `past-label-${c.metric}`;
  return (
    <Card withBorder aria-labelledby={id} component="section">
      <Group justify="space-between" align="baseline">
        <Title order={3} size="h4" id={id}>
          {label}
        </Title>
        <Text size="sm" c="dimmed">
          {formatPercent(fraction)}
        </Text>
      </Group>
      <Text className="mt-1">
        <Text span fw={700} size="xl" data-testid={`past-used-${c.metric}`}>
          {formatNumber(c.used)}
        </Text>{" "}
        of {unitsOf(c.included, unit)} used ({timeZone})
      </Text>
      {c.creditUsed > 0 ? (
        <Text size="sm" className="mt-1" data-testid={`past-credits-${c.metric}`}>
          Paid with prepaid credits: {unitsOf(c.creditUsed, unit)}.
        </Text>
      ) : null}
      {c.overage ? (
        <Text size="sm" className="mt-1" data-testid={`past-overage-${c.metric}`}>
          Overage:{" "}
          <Text span fw={700}>
            {formatMoney(c.overage.cents, currency)}
          </Text>{" "}
          for {unitsOf(c.overage.units, unit)} past the included ones, at {formatMoney(c.overage.priceCents, currency)} per {unitsOf(c.overage.per, unit)}.
        </Text>
      ) : null}
      <figure aria-labelledby={id} className="mx-0 mb-0 mt-3">
        <figcaption className="sr-only">
          {unitsOf(c.used, unit)} of {unitsOf(c.included, unit)} used, over {c.days.length} days.
        </figcaption>
        {mounted ? (
          <Suspense fallback={<ChartPlaceholder />}>
            <UsageChart days={c.days} included={c.included} series={label} today={null} perDay={0} />
          </Suspense>
        ) : (
          <ChartPlaceholder />
        )}
      </figure>
    </Card>
  );
}

// The chart's final size, so nothing moves when it arrives.
const ChartPlaceholder = () => <div style={{ height: 260 }} className="rounded bg-gray-50" aria-hidden="true" />;
