// /admin's organisations: the search (name, id or owner email) with status and plan filters, a
// GET form so every result page has its own URL, one page of rows, and the pages around it.
import { Alert, Anchor, Button, Card, Group, NativeSelect, Text, TextInput } from "@mantine/core";
import { Form, Link } from "@remix-run/react";
import type { OrgFilter, OrgListRow, OrgPage } from "~/server/ops/org-directory.server";
import { formatMoney, formatNumber } from "./format";
import { type Column, ResponsiveTable } from "./responsive-table";

const columns: Column<OrgListRow>[] = [
  {
    header: "Org",
    cell: (o) => (
      <>
        <Anchor component={Link} to={`/admin/orgs/${encodeURIComponent(o.id)}`}>
          {o.name}
        </Anchor>
        <br />
        <Text size="xs" c="dimmed" component="span" className="break-all">
          {o.id}
        </Text>
      </>
    ),
  },
  { header: "Owner", cell: (o) => <span className="break-all">{o.owner_email ?? "—"}</span> },
  { header: "Plan", cell: (o) => o.plan_code ?? "—" },
  { header: "Status", cell: (o) => (o.status ?? "none").replace("_", " ") },
  { header: "Usage", cell: (o) => (o.used === null ? "—" : `${formatNumber(o.used)} / ${formatNumber(o.included ?? 0)}`) },
  { header: "Credits left", cell: (o) => formatNumber(o.credits_left) },
  { header: "Overage so far", cell: (o) => formatMoney(o.overage_cents, o.currency) },
];

/** The same list with one thing changed (a page, a filter). */
function hrefOf(filter: OrgFilter, change: Partial<OrgFilter>): string {
  const next = { ...filter, ...change };
  const params = new URLSearchParams();
  if (next.q) params.set("q", next.q);
  if (next.status) params.set("status", next.status);
  if (next.plan) params.set("plan", next.plan);
  if (next.page > 1) params.set("page", String(next.page));
  const query = params.toString();
  return `/admin${query ? `?${query}` : ""}#orgs`;
}

export function AdminOrgs(props: { filter: OrgFilter; error: string | null; statuses: readonly string[]; plans: string[]; result: OrgPage }) {
  const { filter, error, result } = props;
  return (
    <Card withBorder padding={0} id="orgs">
      <Text component="h3" fw={600} p="md" pb={0}>
        Organisations
      </Text>
      <Form method="get" action="/admin#orgs" className="p-4">
        <Group align="flex-end" gap="sm">
          <TextInput label="Search" name="q" defaultValue={filter.q} placeholder="Name, id or owner email" className="min-w-56 flex-1" />
          <NativeSelect
            label="Status"
            name="status"
            defaultValue={filter.status ?? ""}
            data={[{ value: "", label: "Any" }, ...props.statuses.map((s) => ({ value: s, label: s.replace("_", " ") }))]}
          />
          <NativeSelect label="Plan" name="plan" defaultValue={filter.plan ?? ""} data={[{ value: "", label: "Any" }, ...props.plans]} />
          <Button type="submit">Search</Button>
        </Group>
      </Form>
      {error ? (
        <Alert color="red" mx="md" mb="md" title="Cannot search">
          {error}
        </Alert>
      ) : result.rows.length === 0 ? (
        <Text c="dimmed" px="md" pb="md">
          {result.total === 0 ? "No organisation matches." : "No organisation on this page."}
        </Text>
      ) : (
        <ResponsiveTable caption="Organisations" columns={columns} rows={result.rows} rowKey={(o) => o.id} />
      )}
      <Group justify="space-between" p="md" data-testid="org-pages">
        <Text size="sm" c="dimmed" aria-live="polite">
          {`${formatNumber(result.total)} ${result.total === 1 ? "organisation" : "organisations"} · page ${result.page} of ${result.pages}`}
        </Text>
        <Group gap="xs" component="nav" aria-label="Organisation pages">
          {result.page > 1 ? (
            <Anchor component={Link} to={hrefOf(filter, { page: result.page - 1 })}>
              Previous page
            </Anchor>
          ) : null}
          {result.page < result.pages ? (
            <Anchor component={Link} to={hrefOf(filter, { page: result.page + 1 })}>
              Next page
            </Anchor>
          ) : null}
        </Group>
      </Group>
    </Card>
  );
}
