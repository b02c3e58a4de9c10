// The SLO panel of /admin: each SLO's value over its window against its target, green or red, and
// a neutral "no data" where nothing was measured. A table on wide screens, cards on a phone.
// The numbers merge the SLO buckets of every app and worker process (slo.server.ts).
import { Badge, Card, Text } from "@mantine/core";
import type { SloLine, SloReport } from "~/server/observe/slo.server";
import { type Column, ResponsiveTable } from "./responsive-table";

const LABELS: Record<string, string> = {
  quota_p95: "Quota check p95",
  quota_p99: "Quota check p99",
  converge_p95: "Webhook converge p95",
  drift_max: "Usage drift (max)",
};

/** `drift_max:tokens` is one metered feature's drift. */
const labelOf = (slo: string) => LABELS[slo] ?? (slo.startsWith("drift_max:") ? `Usage drift (${slo.slice("drift_max:".length)})` : slo);

function show(value: number | null, unit: SloLine["unit"]): string {
  if (value === null) return "no data";
  if (unit === "ratio") return `${(value * 100).toFixed(2)}%`;
  return value < 1 ? `${(value * 1000).toFixed(1)} ms` : `${value.toFixed(2)} s`;
}

/** Green within target, red in breach, gray when there is nothing to judge. */
export function StatusBadge({ ok, children }: { ok: boolean | null; children: string }) {
  return (
    <Badge color={ok === null ? "gray" : ok ? "teal" : "red"} variant={ok === null ? "outline" : "filled"}>
      {children}
    </Badge>
  );
}

const columns: Column<SloLine>[] = [
  { header: "SLO", cell: (s) => <span data-slo={`${s.slo}/${s.window}`}>{labelOf(s.slo)}</span> },
  { header: "Window", cell: (s) => s.window },
  { header: "Value", cell: (s) => <StatusBadge ok={s.value === null ? null : s.ok}>{show(s.value, s.unit)}</StatusBadge> },
  { header: "Target", cell: (s) => `≤ ${show(s.target, s.unit)}` },
  { header: "Samples", cell: (s) => s.samples },
];

export function SloPanel({ report }: { report: SloReport }) {
  const measured = report.slos.some((s) => s.value !== null);
  return (
    <Card withBorder padding={0} data-testid="slo-panel" id="slo">
      <Text fw={600} p="md">
        Service levels <StatusBadge ok={measured ? report.ok : null}>{!measured ? "no data" : report.ok ? "all within target" : "breached"}</StatusBadge>
      </Text>
      <ResponsiveTable caption="Service levels" columns={columns} rows={report.slos} rowKey={(s) => `${s.slo}/${s.window}`} />
    </Card>
  );
}
