// The dashboard's chart of one metered feature: used so far this period (running total per day)
// against the quota line.
// Loaded lazily (React.lazy) so the chart library (~400 KB) is not on the dashboard's first paint.
import { BarChart } from "@mantine/charts";
import { formatDay, formatNumber } from "./format";

export default function UsageChart({ days, included, series }: { days: { day: string; quantity: number }[]; included: number; series: string }) {
  let total = 0;
  const data = days.map((d) => {
    total += d.quantity;
    return { day: formatDay(d.day), used: total };
  });
  const top = Math.max(included, total);
  return (
    <BarChart
      h={240}
      maxBarWidth={40}
      data={data}
      dataKey="day"
      series={[{ name: "used", label: `${series} used so far`, color: "indigo.9" }]}
      referenceLines={included > 0 ? [{ y: included, label: `Quota ${formatNumber(included)}`, color: "red.9" }] : []}
      yAxisProps={{ domain: [0, Math.ceil(top * 1.1)] }}
      valueFormatter={formatNumber}
    />
  );
}
