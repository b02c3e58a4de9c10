// The ops console for platform admins: what needs attention (each figure links to its list), the
// SLOs, queue depth and lag, failed jobs with their errors and a replay button, recent webhook
// events (replayable), drift per feature and period, catalog versions with their subscribers,
// past-due orgs, the org search (detail: _portal.admin_.orgs.$id.tsx), and signing a person out
// everywhere. Each panel is one line of the page below.
import { Alert, Anchor, Badge, Button, Card, Code, Group, SimpleGrid, Stack, Text, TextInput, Title } from "@mantine/core";
import { type ActionFunctionArgs, json, type LoaderFunctionArgs, type SerializeFrom } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { AdminOrgs } from "~/components/admin-orgs";
import { AttentionStrip } from "~/components/attention-strip";
import { CatalogAdmin } from "~/components/catalog-admin";
import { formatDateTime, formatNumber } from "~/components/format";
import { NotifyAdminPanels } from "~/components/notify-admin";
import { OrgDeletions } from "~/components/org-deletions";
import { type Column, ResponsiveTable } from "~/components/responsive-table";
import { ActionOutcome, useActionOutcome } from "~/components/section";
import { SloPanel, StatusBadge } from "~/components/slo-panel";
import { requireAdminPage } from "~/server/auth/admin.server";
import { revokeSessionsOf } from "~/server/auth/session-store.server";
import { replayStripeEvent } from "~/server/billing/webhooks.server";
import { listAudit } from "~/server/events/audit.server";
import { portalAction } from "~/server/http/portal-action.server";
import { listOutbox } from "~/server/notify/email.server";
import { sloReport, TARGETS } from "~/server/observe/slo.server";
import { NO_ORGS, ORG_STATUSES, orgFilterOf, planCodesInUse, searchOrgs } from "~/server/ops/org-directory.server";
import { adminOverview, needsAttention, replayJob, worstDrift } from "~/server/ops/overview.server";
import { AppError } from "~/server/platform/errors.server";

// The page shows the worst counters of those measured; the strip counts them all.
const DRIFT_SHOWN = 20;

export const loader = async ({ request }: LoaderFunctionArgs) => {
  await requireAdminPage(request);
  // A filter that does not parse lists nothing and says why (400), rather than guessing.
  const { filter, error } = orgFilterOf(new URL(request.url).searchParams);
  const [overview, outbox, audit, slo, found, plans] = await Promise.all([
    adminOverview(),
    listOutbox(50),
    listAudit({ orgId: null, limit: 100 }),
    sloReport(),
    error ? NO_ORGS : searchOrgs(filter),
    planCodesInUse(),
  ]);
  const orgs = { filter, error, result: found, plans, statuses: ORG_STATUSES };
  return json(
    {
      ...overview,
      attention: needsAttention(overview, slo),
      drift:
        "error" in overview.drift
          ? overview.drift
          : { ...overview.drift, rows: worstDrift(overview.drift.rows, DRIFT_SHOWN), measured: overview.drift.rows.length },
      driftTarget: TARGETS.driftMax,
      orgs,
      notify: { outbox, audit },
      slo,
    },
    { status: error ? 400 : 200 },
  );
};

export const action = (args: ActionFunctionArgs) =>
  portalAction(
    args,
    async ({ request, form }) => {
      await requireAdminPage(request);
      if (form.get("intent") === "revoke-sessions") {
        const r = await revokeSessionsOf({ email: String(form.get("email") ?? "") });
        return { message: `${r.email}: ${r.revoked} session${r.revoked === 1 ? "" : "s"} ended.${r.note ? ` ${r.note}` : ""}` };
      }
      const jobId = form.get("jobId");
      const eventId = form.get("eventId");
      if (typeof jobId === "string" && /^\d+$/.test(jobId)) return { message: `Job ${jobId} queued again.`, ...(await replayJob(jobId)) };
      if (typeof eventId === "string" && /^evt_[\w]+$/.test(eventId))
        return { message: `Event ${eventId} queued again.`, ...(await replayStripeEvent(eventId)) };
      throw new AppError("VALIDATION_FAILED", "Nothing to replay.");
    },
    {},
  ); // platform admins, whatever their role in their own org

const OrgLink = ({ id, children }: { id: string; children: string }) => (
  <Anchor component={Link} to={`/admin/orgs/${encodeURIComponent(id)}`} className="break-all">
    {children}
  </Anchor>
);

const pct = (d: number | null) => (d === null ? "n/a" : `${(d * 100).toFixed(2)}%`);

type Overview = SerializeFrom<typeof loader>;
type DriftRow = Extract<Overview["drift"], { rows: unknown }>["rows"][number];

const failedColumns: Column<Overview["jobs"]["failed"][number]>[] = [
  {
    header: "Job",
    cell: (f) => (
      <>
        #{f.id}
        <br />
        <Code>{f.key}</Code>
      </>
    ),
  },
  { header: "Task", cell: (f) => f.task },
  { header: "Attempts", cell: (f) => f.attempts },
  {
    header: "Error",
    cell: (f) => (
      <Text size="sm" c="red" className="max-w-md break-words">
        {f.lastError}
      </Text>
    ),
  },
  {
    header: "Action",
    bare: true,
    cell: (f) => (
      <Form method="post">
        <input type="hidden" name="jobId" value={f.id} />
        <Button type="submit" size="xs" aria-label={`Replay job ${f.id}`}>
          Replay
        </Button>
      </Form>
    ),
  },
];

const eventColumns: Column<Overview["events"][number]>[] = [
  { header: "Event", cell: (e) => <Code className="break-all">{e.id}</Code> },
  { header: "Type", cell: (e) => e.type },
  { header: "Received", cell: (e) => formatDateTime(e.received_at, "UTC") },
  { header: "Converged", cell: (e) => (e.processed_at ? <Badge color="teal">{e.converge_ms} ms</Badge> : <Badge color="yellow">pending</Badge>) },
  {
    header: "Action",
    bare: true,
    cell: (e) => (
      <Form method="post">
        <input type="hidden" name="eventId" value={e.id} />
        <Button type="submit" size="xs" variant="subtle" aria-label={`Replay event ${e.id}`}>
          Replay
        </Button>
      </Form>
    ),
  },
];

const driftColumns: Column<DriftRow>[] = [
  { header: "Org", cell: (r) => <OrgLink id={r.orgId}>{r.orgId}</OrgLink> },
  { header: "Feature", cell: (r) => r.metric },
  { header: "Period", cell: (r) => r.periodKey },
  { header: "Recorded", cell: (r) => formatNumber(r.recorded) },
  { header: "Reported", cell: (r) => formatNumber(r.reported) },
  { header: "Drift", cell: (r) => (r.status === "settling" ? "settling" : r.status === "displaced" ? "n/a (outside its period)" : pct(r.drift)) },
];

const pastDueColumns: Column<Overview["pastDue"][number]>[] = [
  {
    header: "Org",
    cell: (o) => (
      <>
        <OrgLink id={o.id}>{o.name}</OrgLink>
        <br />
        <Text size="xs" c="dimmed">
          {o.id}
        </Text>
      </>
    ),
  },
  { header: "Plan", cell: (o) => o.plan_code },
  { header: "Status", cell: (o) => <Badge color="red">{o.status.replace("_", " ")}</Badge> },
  { header: "Usage allowed until", cell: (o) => (o.status === "past_due" ? formatDateTime(o.grace_ends, "UTC") : "stopped") },
];

export default function Admin() {
  const { attention, driftTarget, jobs, events, orgs, pastDue, pastDueTotal, drift, stiggDrift, notify, slo, orgDeletions, catalog } =
    useLoaderData<typeof loader>();
  const result = useActionOutcome();
  const depth = jobs.tasks.reduce((s, t) => s + t.queued + t.retrying, 0);
  return (
    <Stack gap="lg">
      <Title order={1} size="h2">
        Operations
      </Title>
      <ActionOutcome result={result} />
      <AttentionStrip items={attention} />
      <SloPanel report={slo} />
      <OrgDeletions rows={orgDeletions} />
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <Card withBorder>
          <Text size="sm" c="dimmed">
            Queue depth
          </Text>
          <Text size="xl" fw={700} data-testid="queue-depth">
            {formatNumber(depth)}
          </Text>
        </Card>
        <Card withBorder>
          <Text size="sm" c="dimmed">
            Job lag
          </Text>
          <Text size="xl" fw={700}>
            {formatNumber(jobs.lagMs)} ms
          </Text>
        </Card>
        <Card withBorder>
          <Text size="sm" c="dimmed">
            Failed jobs
          </Text>
          <Text size="xl" fw={700} c={jobs.failed.length ? "red" : undefined}>
            {jobs.failed.length}
          </Text>
        </Card>
      </SimpleGrid>

      <Card withBorder padding={0} id="failed-jobs">
        <Text fw={600} p="md">
          Failed jobs (dead-letter queue)
        </Text>
        {jobs.failed.length === 0 ? (
          <Text c="dimmed" px="md" pb="md">
            No failed jobs.
          </Text>
        ) : (
          <ResponsiveTable caption="Failed jobs" columns={failedColumns} rows={jobs.failed} rowKey={(f) => String(f.id)} />
        )}
      </Card>

      <Card withBorder padding={0}>
        <Text fw={600} p="md">
          Recent Stripe webhook events
        </Text>
        {events.length === 0 ? (
          <Text c="dimmed" px="md" pb="md">
            No events yet.
          </Text>
        ) : (
          <ResponsiveTable caption="Recent Stripe webhook events" columns={eventColumns} rows={events} rowKey={(e) => e.id} />
        )}
      </Card>

      <Card withBorder padding={0} id="drift">
        <Group justify="space-between" p="md">
          <Text fw={600}>Usage drift (recorded vs reported to Stripe)</Text>
          {stiggDrift === null ? null : (
            <Badge color={stiggDrift === 0 ? "teal" : "yellow"} variant="outline" data-testid="stigg-drift">
              Stigg drift: {formatNumber(stiggDrift)} org(s), as last checked
            </Badge>
          )}
          {"error" in drift ? null : (
            <Group gap="xs">
              {Object.entries(drift.maxDriftByFeature).map(([feature, max]) => (
                <Badge key={feature} color={max === null ? "gray" : max === 0 ? "teal" : "yellow"} variant={max === null ? "outline" : "light"}>
                  {feature} {max === null ? "no data" : pct(max)}
                </Badge>
              ))}
              <StatusBadge ok={drift.maxDrift === null || drift.measured === 0 ? null : drift.maxDrift <= driftTarget}>
                {drift.maxDrift === null || drift.measured === 0 ? "max: no data" : `max ${pct(drift.maxDrift)}`}
              </StatusBadge>
            </Group>
          )}
        </Group>
        {"error" in drift ? (
          <Alert color="yellow" m="md">
            {drift.error}
          </Alert>
        ) : drift.rows.length === 0 ? (
          <Text c="dimmed" px="md" pb="md">
            No counters to measure yet.
          </Text>
        ) : (
          <>
            <Text size="sm" c="dimmed" px="md">
              {`The ${drift.rows.length} largest of the ${drift.measured} newest counters.`}
            </Text>
            <ResponsiveTable caption="Usage drift" columns={driftColumns} rows={drift.rows} rowKey={(r) => `${r.orgId}${r.metric}${r.periodStart}`} />
          </>
        )}
      </Card>

      <CatalogAdmin versions={catalog.versions} planVersions={catalog.planVersions} />

      <Card withBorder padding={0} id="past-due">
        <Text fw={600} p="md">
          Past due
        </Text>
        {pastDue.length === 0 ? (
          <Text px="md" pb="md" c="dimmed">
            No organisation has a failed payment.
          </Text>
        ) : (
          <>
            <ResponsiveTable caption="Past-due organisations" columns={pastDueColumns} rows={pastDue} rowKey={(o) => o.id} />
            {pastDueTotal > pastDue.length ? (
              <Text size="sm" px="md" pb="md">
                {`The ${pastDue.length} longest overdue of ${formatNumber(pastDueTotal)}. `}
                <Anchor component={Link} to="/admin?status=past_due#orgs">
                  All past-due orgs
                </Anchor>
                {" · "}
                <Anchor component={Link} to="/admin?status=unpaid#orgs">
                  All unpaid orgs
                </Anchor>
              </Text>
            ) : null}
          </>
        )}
      </Card>

      <AdminOrgs {...orgs} />

      <Card withBorder>
        <Form method="post">
          <input type="hidden" name="intent" value="revoke-sessions" />
          <Group align="flex-end">
            <TextInput label="Sign a person out everywhere" name="email" type="email" required placeholder="person@example.com" className="min-w-64 flex-1" />
            <Button type="submit" color="red" variant="light">
              Sign out everywhere
            </Button>
          </Group>
        </Form>
      </Card>
      <NotifyAdminPanels outbox={notify.outbox} audit={notify.audit} />
    </Stack>
  );
}
