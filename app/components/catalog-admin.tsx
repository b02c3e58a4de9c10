// /admin: the catalog's published versions (newest first, the current one marked) and every plan
// version with how many live subscriptions are on it, grandfathered ones included.
import { Badge, Card, Code, Text } from "@mantine/core";
import type { catalogHistory, PlanVersionSubscribers } from "~/server/billing/catalog.server";
import { formatDateTime, formatMoney, formatNumber } from "./format";
import { type Column, ResponsiveTable } from "./responsive-table";

type Version = Omit<Awaited<ReturnType<typeof catalogHistory>>[number], "publishedAt"> & { publishedAt: string };

export function CatalogAdmin({ versions, planVersions }: { versions: Version[]; planVersions: PlanVersionSubscribers[] }) {
  const current = versions[0]?.version;
  const versionColumns: Column<Version>[] = [
    { header: "Version", cell: (v) => (v.version === current ? <Badge color="teal">{`v${v.version} current`}</Badge> : `v${v.version}`) },
    { header: "Published", cell: (v) => formatDateTime(v.publishedAt, "UTC") },
    { header: "By", cell: (v) => v.source },
    {
      header: "Plans sold",
      cell: (v) =>
        Object.entries(v.plans)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([code, version]) => `${code} v${version}`)
          .join(", "),
    },
  ];
  const planColumns: Column<PlanVersionSubscribers>[] = [
    { header: "Plan", cell: (p) => <Code>{p.planCode}</Code> },
    { header: "Version", cell: (p) => `v${p.version} (catalog v${p.catalogVersion})` },
    {
      header: "Price",
      cell: (p) =>
        p.priceMonth === null
          ? "trial"
          : `${formatMoney(p.priceMonth, p.currency)} / month${p.priceYear === null ? "" : `, ${formatMoney(p.priceYear, p.currency)} / year`}`,
    },
    {
      header: "Subscribers",
      align: "right",
      cell: (p) => <span data-testid={`subscribers-${p.planCode}-v${p.version}`}>{formatNumber(p.monthly + p.yearly)}</span>,
    },
    { header: "Monthly / yearly", align: "right", cell: (p) => `${formatNumber(p.monthly)} / ${formatNumber(p.yearly)}` },
  ];
  return (
    <Card withBorder padding={0} data-testid="catalog-versions">
      <Text fw={600} p="md">
        Catalog versions
      </Text>
      {versions.length === 0 ? (
        <Text c="dimmed" px="md" pb="md">
          No catalog published yet.
        </Text>
      ) : (
        <ResponsiveTable caption="Catalog versions" columns={versionColumns} rows={versions} rowKey={(v) => String(v.version)} />
      )}
      <Text fw={600} p="md">
        Plan versions and their subscribers
      </Text>
      <ResponsiveTable caption="Plan versions and their subscribers" columns={planColumns} rows={planVersions} rowKey={(p) => `${p.planCode}v${p.version}`} />
    </Card>
  );
}
