// Usage as people read it in the portal: per day of the org's time zone, from the hourly rollup
// (one indexed range read of at most ~750 rows a period, however many events there were).
import { sql } from "../platform/db.server";

export async function dailyUsage(input: { orgId: string; metric: string; periodStart: string; periodEnd: string; timeZone: string }) {
  const rows = await sql<{ day: string; quantity: number }[]>`
    select to_char(hour at time zone ${input.timeZone}, 'YYYY-MM-DD') as day, sum(quantity)::int8 as quantity
      from usage_hourly
     where org_id = ${input.orgId} and metric = ${input.metric}
       and hour >= date_trunc('hour', ${input.periodStart}::timestamptz) and hour < ${input.periodEnd}::timestamptz
     group by 1 order by 1`;
  const byDay = new Map(rows.map((r) => [r.day, r.quantity]));
  // Every day of the period up to today, so quiet days show as zero.
  const days: { day: string; quantity: number }[] = [];
  const fmt = new Intl.DateTimeFormat("en-CA", { timeZone: input.timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  const end = Math.min(Date.parse(input.periodEnd), Date.now());
  const seen = new Set<string>();
  for (let t = Date.parse(input.periodStart); t <= end + 86_400_000; t += 3_600_000 * 6) {
    const day = fmt.format(new Date(Math.min(t, end)));
    if (seen.has(day)) continue;
    seen.add(day);
    days.push({ day, quantity: byDay.get(day) ?? 0 });
  }
  return days;
}
