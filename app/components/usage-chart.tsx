// The dashboard's chart of one metered feature across the whole period: daily usage as bars
// (right axis), the running total as a line (left axis) against the quota line, and, from today
// to the period's end, the forecast at this period's average daily rate, up to the quota.
// Axis ticks are round numbers (1, 2, 2.5 or 5 times a power of ten).
// Loaded lazily (React.lazy) so the chart library is not on the dashboard's first paint.
import { Bar, CartesianGrid, ComposedChart, Legend, Line, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatDay, formatNumber } from "./format";

const COLORS = { daily: "#4338ca", total: "#1e3a8a", forecast: "#92400e", quota: "#991b1b", text: "#1f2937" };

/** Round ticks from 0 covering `max`: about `count` steps of 1, 2, 2.5 or 5 × 10^k (at least 1). */
export function roundTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  // Units are whole: never a step under 1.
  const step = Math.max(1, [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power);
  const ticks: number[] = [];
  for (let t = 0; t < max + step; t += step) {
    ticks.push(Math.round(t * 1000) / 1000);
    if (t >= max) break;
  }
  return ticks;
}

const compact = (n: number) => new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(n);

export type ChartProps = {
  days: { day: string; quantity: number }[];
  included: number;
  series: string;
  /** Today (YYYY-MM-DD in the org's zone) in a current period: days after it are forecast; null for a past period. */
  today: string | null;
  /** The average daily usage so far, which the forecast extends. */
  perDay: number;
};

export default function UsageChart({ days, included, series, today, perDay }: ChartProps) {
  let total = 0;
  const todayIndex = today === null ? days.length - 1 : days.findIndex((d) => d.day === today);
  const data = days.map((d, i) => {
    const past = todayIndex < 0 || i <= todayIndex;
    if (past) total += d.quantity;
    return {
      day: formatDay(d.day),
      daily: past ? d.quantity : null,
      total: past ? total : null,
      forecast: null as number | null,
    };
  });
  if (today !== null && todayIndex >= 0) {
    const start = data[todayIndex].total ?? 0;
    for (let i = todayIndex; i < data.length; i++) {
      const ahead = start + perDay * (i - todayIndex);
      data[i].forecast = Math.round(included > 0 ? Math.min(ahead, included) : ahead);
    }
  }
  const totalTicks = roundTicks(Math.max(included, total, ...data.map((d) => d.forecast ?? 0)));
  const dailyTicks = roundTicks(Math.max(1, ...data.map((d) => d.daily ?? 0)));
  return (
    <ResponsiveContainer width="100%" height={260}>
      <ComposedChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="day" tick={{ fill: COLORS.text, fontSize: 12 }} minTickGap={16} />
        <YAxis
          yAxisId="total"
          ticks={totalTicks}
          domain={[0, totalTicks.at(-1)!]}
          tickFormatter={compact}
          tick={{ fill: COLORS.text, fontSize: 12 }}
          width={48}
        />
        <YAxis
          yAxisId="daily"
          orientation="right"
          ticks={dailyTicks}
          domain={[0, dailyTicks.at(-1)!]}
          tickFormatter={compact}
          tick={{ fill: COLORS.text, fontSize: 12 }}
          width={44}
        />
        <Tooltip formatter={(value) => formatNumber(Number(value))} />
        <Legend formatter={(value) => <span style={{ color: COLORS.text }}>{value}</span>} />
        <Bar yAxisId="daily" dataKey="daily" name={`${series} per day`} fill={COLORS.daily} maxBarSize={24} isAnimationActive={false} />
        <Line yAxisId="total" dataKey="total" name="Total so far" stroke={COLORS.total} strokeWidth={2} dot={false} isAnimationActive={false} />
        {today !== null ? (
          <Line
            yAxisId="total"
            dataKey="forecast"
            name="Forecast"
            stroke={COLORS.forecast}
            strokeWidth={2}
            strokeDasharray="6 4"
            dot={false}
            isAnimationActive={false}
          />
        ) : null}
        {included > 0 ? (
          <ReferenceLine
            yAxisId="total"
            y={included}
            stroke={COLORS.quota}
            strokeDasharray="2 2"
            label={{ value: `Quota ${formatNumber(included)}`, fill: COLORS.quota, fontSize: 12, position: "insideTopLeft" }}
          />
        ) : null}
      </ComposedChart>
    </ResponsiveContainer>
  );
}
