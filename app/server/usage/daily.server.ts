// Usage as people read it in the portal: per day of the org's time zone, from the hourly rollup
// (one indexed range read of at most ~750 rows a period and metric, however many events there were).
import { type OveragePrice, overageCents } from "../domain/overage.server";
import { sql } from "../platform/db.server";

type Period = { orgId: string; periodStart: string; periodEnd: string; timeZone: string };
export type DailyUsage = { day: string; quantity: number }[];

export async function dailyUsage(input: Period & { metric: string }): Promise<DailyUsage> {
  return (await dailyUsageByMetric({ ...input, metrics: [input.metric] }))[input.metric] ?? [];
}

/** Every metric's days of the period in one read: the dashboard's chart per metered feature. */
export async function dailyUsageByMetric(input: Period & { metrics: string[] }): Promise<Record<string, DailyUsage>> {
  const rows = input.metrics.length
    ? await sql<{ metric: string; day: string; quantity: number }[]>`
    select metric, to_char(hour at time zone ${input.timeZone}, 'YYYY-MM-DD') as day, sum(quantity)::int8 as quantity
      from usage_hourly
     where org_id = ${input.orgId} and metric = any(${input.metrics}::text[])
       and hour >= date_trunc('hour', ${input.periodStart}::timestamptz) and hour < ${input.periodEnd}::timestamptz
     group by 1, 2 order by 1, 2`
    : [];
  const byDay = new Map(rows.map((r) => [`${r.metric}:${r.day}`, Number(r.quantity)]));
  const days = daysOf(input);
  return Object.fromEntries(input.metrics.map((metric) => [metric, days.map((day) => ({ day, quantity: byDay.get(`${metric}:${day}`) ?? 0 }))]));
}

/**
 * Every day of the whole period, in the org's zone, so quiet days show as zero and the chart
 * spans the period (days after today are 0: the chart draws the forecast over them).
 */
function daysOf(input: Period): string[] {
  const fmt = new Intl.DateTimeFormat("en-CA", { timeZone: input.timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  const end = Date.parse(input.periodEnd) - 1;
  const seen = new Set<string>();
  for (let t = Date.parse(input.periodStart); t <= end + 86_400_000; t += 3_600_000 * 6) seen.add(fmt.format(new Date(Math.min(t, end))));
  return [...seen];
}

export type PastPeriod = { start: string; end: string };

/** The org's periods that have ended and have usage (newest first, at most 13): the dashboard's period picker. */
export async function pastPeriods(orgId: string): Promise<PastPeriod[]> {
  const rows = await sql<{ start: Date; end: Date }[]>`
    select period_start as start, max(period_end) as end
      from usage_counters
     where org_id = ${orgId} and period_end <= now() and used > 0
     group by period_start
     order by period_start desc
     limit 13`;
  return rows.map((r) => ({ start: new Date(r.start).toISOString(), end: new Date(r.end).toISOString() }));
}

export type PastCounter = {
  metric: string;
  used: number;
  included: number;
  /** Of used, the units paid with prepaid credits. */
  creditUsed: number;
  /** When the period's plan version sold overage: the units past the included ones and the credits, and their charge at that period's price. */
  overage: (OveragePrice & { units: number; cents: number }) | null;
};

/** A past period's counters, per metric: what was used of what was included, paid with credits and billed as overage. */
export async function countersOf(orgId: string, periodStart: string): Promise<PastCounter[]> {
  // The counter keeps the overage price its period started with: a later price change does not reprice it.
  const rows = await sql<
    { metric: string; used: number; included: number; credit_used: number; overage_used: number; price_cents: number | null; per: number | null }[]
  >`
    select metric, used::int8 as used, included::int8 as included, credit_used::int8 as credit_used, overage_used::int8 as overage_used,
           overage_price_cents as price_cents, overage_per as per
      from usage_counters where org_id = ${orgId} and period_start = ${periodStart}::timestamptz
     order by metric`;
  return rows.map((r) => {
    const units = Number(r.overage_used);
    const price = r.price_cents !== null && r.per !== null ? { priceCents: r.price_cents, per: r.per } : null;
    return {
      metric: r.metric,
      used: Number(r.used),
      included: Number(r.included),
      creditUsed: Number(r.credit_used),
      overage: price && { ...price, units, cents: overageCents(units, price) },
    };
  });
}
