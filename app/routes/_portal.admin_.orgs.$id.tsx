// One organisation as platform admins see it: plan and status, this period's usage per metered
// feature, credits, recent invoices, its queued jobs and emitted events, and its audit log.
import { Anchor, Badge, Card, Code, Group, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { json, type LoaderFunctionArgs, type MetaFunction, type SerializeFrom } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import type { ReactNode } from "react";
import { formatDateTime, formatMoney, formatNumber } from "~/components/format";
import { type Column, ResponsiveTable } from "~/components/responsive-table";
import { requireAdminPage } from "~/server/auth/admin.server";
import { resourceId } from "~/server/http/route.server";
import { orgDetail } from "~/server/ops/org-directory.server";
import { AppError } from "~/server/platform/errors.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: data ? `${data.org.name} · Admin` : "Organisation · Admin" }];

export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  await requireAdminPage(request);
  try {
    return json(await orgDetail(resourceId(params.id, "Organisation")));
  } catch (err) {
    // An id that names no org, or could name none (a NUL, a space), is a page that does not exist.
    if (err instanceof AppError && err.code === "NOT_FOUND") throw new Response("Not found", { status: 404 });
    throw err;
  }
};

type Detail = SerializeFrom<typeof loader>;
const UTC = "UTC";

const usageColumns: Column<Detail["usage"][number]>[] = [
  { header: "Feature", cell: (u) => u.metric },
  { header: "Period", cell: (u) => u.period_key },
  { header: "Used", cell: (u) => formatNumber(u.used), align: "right" },
  { header: "Included", cell: (u) => formatNumber(u.included), align: "right" },
  { header: "From credits", cell: (u) => formatNumber(u.credit_used), align: "right" },
  { header: "Overage", cell: (u) => formatNumber(u.overage_used), align: "right" },
];

const creditColumns: Column<Detail["credits"][number]>[] = [
  { header: "Feature", cell: (c) => c.metric },
  { header: "Remaining", cell: (c) => `${formatNumber(c.remaining)} of ${formatNumber(c.units)}`, align: "right" },
  { header: "Source", cell: (c) => c.source.replaceAll("_", " ") },
  { header: "Granted", cell: (c) => formatDateTime(c.granted_at, UTC) },
  { header: "Expires", cell: (c) => formatDateTime(c.expires_at, UTC) },
];

const invoiceColumns: Column<Detail["invoices"][number]>[] = [
  { header: "Invoice", cell: (i) => <Code className="break-all">{i.number ?? i.id}</Code> },
  { header: "Status", cell: (i) => i.status },
  { header: "Total", cell: (i) => formatMoney(i.total, i.currency), align: "right" },
  { header: "Due", cell: (i) => formatMoney(i.amount_due, i.currency), align: "right" },
  { header: "Created", cell: (i) => formatDateTime(i.created_at, UTC) },
];

const jobColumns: Column<Detail["jobs"][number]>[] = [
  { header: "Job", cell: (j) => `#${j.id} ${j.task}` },
  { header: "Attempts", cell: (j) => `${j.attempts} of ${j.max_attempts}` },
  { header: "Runs at", cell: (j) => formatDateTime(j.run_at, UTC) },
  { header: "Last error", cell: (j) => <span className="break-words">{j.last_error ?? "—"}</span> },
];

const eventColumns: Column<Detail["events"][number]>[] = [
  { header: "Event", cell: (e) => <Code className="break-all">{e.id}</Code> },
  { header: "Type", cell: (e) => e.type },
  { header: "At", cell: (e) => formatDateTime(e.created_at, UTC) },
];

const auditColumns: Column<Detail["audit"][number]>[] = [
  { header: "At", cell: (a) => formatDateTime(a.at, UTC) },
  { header: "Who", cell: (a) => <span className="break-all">{a.actor}</span> },
  { header: "Action", cell: (a) => a.action },
  { header: "Target", cell: (a) => <span className="break-all">{a.target ?? "—"}</span> },
];

/** A titled panel: its rows, or a plain sentence when there are none. */
function Panel<Row>(props: { title: string; empty: string; columns: Column<Row>[]; rows: Row[]; rowKey: (row: Row) => string }) {
  return (
    <Card withBorder padding={0} component="section" aria-label={props.title}>
      <Text component="h3" fw={600} p="md">
        {props.title}
      </Text>
      {props.rows.length === 0 ? (
        <Text c="dimmed" px="md" pb="md">
          {props.empty}
        </Text>
      ) : (
        <ResponsiveTable caption={props.title} columns={props.columns} rows={props.rows} rowKey={props.rowKey} />
      )}
    </Card>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text fw={500} className="break-words">
        {children}
      </Text>
    </div>
  );
}

export default function AdminOrg() {
  const { org, usage, credits, invoices, jobs, events, audit } = useLoaderData<typeof loader>();
  const status = org.status ?? "none";
  return (
    <Stack gap="lg">
      <Anchor component={Link} to="/admin#orgs" size="sm">
        ← All organisations
      </Anchor>
      <Group gap="sm" align="center">
        <Title order={1} size="h2" className="break-words">
          {org.name}
        </Title>
        <Badge color={status === "past_due" || status === "unpaid" ? "red" : status === "none" || status === "canceled" ? "gray" : "teal"} variant="light">
          {status.replace("_", " ")}
        </Badge>
      </Group>
      <Card withBorder>
        <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="md">
          <Fact label="Id">{org.id}</Fact>
          <Fact label="Owner">{org.owner_email ?? "—"}</Fact>
          <Fact label="Plan">
            {org.plan_code ? `${org.plan_code}${org.plan_version ? ` v${org.plan_version}` : ""} (${org.billing_interval}ly)` : "No plan"}
          </Fact>
          <Fact label="Current period">
            {org.period_start && org.period_end ? `${formatDateTime(org.period_start, UTC)} – ${formatDateTime(org.period_end, UTC)}` : "—"}
          </Fact>
          <Fact label="At period end">
            {org.cancel_at_period_end ? "cancels" : org.pending_plan_code ? `changes to ${org.pending_plan_code}` : org.plan_code ? "renews" : "—"}
          </Fact>
          <Fact label="Active API keys">{formatNumber(org.keys)}</Fact>
          <Fact label="Stripe customer">{org.stripe_customer_id ?? "—"}</Fact>
          <Fact label="Time zone">{org.time_zone}</Fact>
          <Fact label="Created">{formatDateTime(org.created_at, UTC)}</Fact>
        </SimpleGrid>
      </Card>
      <Panel title="Usage this period" empty="No usage counted this period." columns={usageColumns} rows={usage} rowKey={(u) => u.metric} />
      <Panel title="Credits" empty="No credits granted." columns={creditColumns} rows={credits} rowKey={(c) => c.id} />
      <Panel title="Recent invoices" empty="No invoices yet." columns={invoiceColumns} rows={invoices} rowKey={(i) => i.id} />
      <Panel title="Queued and failed jobs" empty="No job queued for this organisation." columns={jobColumns} rows={jobs} rowKey={(j) => j.id} />
      <Panel title="Recent events" empty="No events emitted yet." columns={eventColumns} rows={events} rowKey={(e) => e.id} />
      <Panel title="Audit log" empty="No audit entries." columns={auditColumns} rows={audit} rowKey={(a) => String(a.id)} />
    </Stack>
  );
}
