// Dashboard: plan, status, period, the usage meter with 80% / 100% warnings, and daily usage.
import { BarChart } from "@mantine/charts";
import { Alert, Badge, Button, Card, Group, Progress, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { json, type LoaderFunctionArgs } from "@remix-run/node";
import { Link, useLoaderData, useRevalidator, useSearchParams } from "@remix-run/react";
import { useEffect, useState } from "react";
import { daysUntil, formatDate, formatNumber } from "~/components/format";
import { requireUser } from "~/server/auth.server";
import { config } from "~/server/config.server";
import { subscriptionOverview } from "~/server/billing/billing.server";
import { getOrg } from "~/server/orgs.server";
import { dailyUsage } from "~/server/usage-report.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request);
  const org = await getOrg(user.orgId);
  const { subscription, usage } = await subscriptionOverview(user.orgId);
  const days = usage
    ? await dailyUsage({ orgId: user.orgId, metric: "api_call", periodStart: usage.periodStart, periodEnd: usage.periodEnd, timeZone: org.timeZone })
    : [];
  // A failed payment keeps the quota for the grace days after the period start, then stops it.
  const graceEndsAt =
    subscription?.status === "past_due" ? new Date(Date.parse(subscription.periodStart) + config.PAST_DUE_GRACE_DAYS * 86_400_000).toISOString() : null;
  return json({ timeZone: org.timeZone, subscription, usage, days, graceEndsAt });
};

export default function Dashboard() {
  const { timeZone, subscription, usage, days, graceEndsAt } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const revalidator = useRevalidator();
  const justPaid = params.get("checkout") === "success";
  // The chart measures its container: it renders in the browser only (no server work for it).
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

  const pct = usage && usage.included > 0 ? Math.min(100, (usage.used / usage.included) * 100) : 0;
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
      ) : pct >= 80 ? (
        <Alert color="yellow" title="80% of your quota used" role="status">
          {formatNumber(usage!.remaining)} API calls left until {formatDate(usage!.periodEnd, timeZone)}. <Link to="/billing">Upgrade</Link> to avoid a hard
          stop.
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
        <Card withBorder>
          <Text size="sm" c="dimmed">
            API calls this period
          </Text>
          <Text size="xl" fw={700} data-testid="usage-used">
            {usage ? formatNumber(usage.used) : "—"}
          </Text>
          <Text size="sm" c="dimmed">
            of {usage ? formatNumber(usage.included) : "—"} included
          </Text>
        </Card>
        <Card withBorder>
          <Text size="sm" c="dimmed">
            Period
          </Text>
          <Text fw={600}>
            {formatDate(subscription.periodStart, timeZone)} – {formatDate(subscription.periodEnd, timeZone)}
          </Text>
          <Text size="sm" c="dimmed">
            renews in {daysUntil(subscription.periodEnd)} days{subscription.cancelAtPeriodEnd ? " (set to cancel)" : ""}
          </Text>
        </Card>
        <Card withBorder>
          <Text size="sm" c="dimmed">
            {trialDaysLeft !== null ? "Trial" : "Remaining"}
          </Text>
          <Text size="xl" fw={700}>
            {trialDaysLeft !== null ? `${trialDaysLeft} days left` : usage ? formatNumber(usage.remaining) : "—"}
          </Text>
          <Text size="sm" c="dimmed">
            {trialDaysLeft !== null ? `converts to starter on ${formatDate(subscription.trialEnd!, timeZone)}` : "API calls left"}
          </Text>
        </Card>
      </SimpleGrid>

      <Card withBorder>
        <Group justify="space-between">
          <Text fw={600}>Usage meter</Text>
          <Text size="sm" c="dimmed">
            {pct.toFixed(1)}%
          </Text>
        </Group>
        <Progress value={pct} color={pct >= 100 ? "red" : pct >= 80 ? "yellow" : "indigo"} size="lg" className="mt-2" aria-label="Quota used" />
      </Card>

      <Card withBorder>
        <Text fw={600} className="mb-3">
          Daily API calls ({timeZone})
        </Text>
        {days.length === 0 || days.every((d) => d.quantity === 0) ? (
          <Text c="dimmed" size="sm">
            No usage yet this period. Create an API key and record your first call.
          </Text>
        ) : !mounted ? (
          <div style={{ height: 240 }} aria-busy="true" />
        ) : (
          <BarChart
            h={240}
            maxBarWidth={40}
            data={days}
            dataKey="day"
            series={[{ name: "quantity", label: "API calls", color: "indigo.6" }]}
            valueFormatter={formatNumber}
          />
        )}
      </Card>
    </Stack>
  );
}
