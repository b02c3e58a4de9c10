// The SLO panel of /admin: each SLO's value over its window against its target, green or red.
// The numbers merge the SLO buckets of every app and worker process (slo.server.ts).
import { Badge, Card, Table, Text } from "@mantine/core";
import type { SloLine, SloReport } from "~/server/observe/slo.server";

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

export function SloPanel({ report }: { report: SloReport }) {
  return (
    <Card withBorder padding={0} data-testid="slo-panel">
      <Text fw={600} p="md">
        Service levels{" "}
        <Badge color={report.ok ? "teal" : "red"} ml="xs">
          {report.ok ? "all within target" : "breached"}
        </Badge>
      </Text>
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>SLO</Table.Th>
            <Table.Th>Window</Table.Th>
            <Table.Th>Value</Table.Th>
            <Table.Th>Target</Table.Th>
            <Table.Th>Samples</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {report.slos.map((s) => (
            <Table.Tr key={`${s.slo}/${s.window}`} data-slo={`${s.slo}/${s.window}`} data-ok={s.ok}>
              <Table.Td>{labelOf(s.slo)}</Table.Td>
              <Table.Td>{s.window}</Table.Td>
              <Table.Td>
                <Badge color={s.ok ? "teal" : "red"}>{show(s.value, s.unit)}</Badge>
              </Table.Td>
              <Table.Td>≤ {show(s.target, s.unit)}</Table.Td>
              <Table.Td>{s.samples}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}
