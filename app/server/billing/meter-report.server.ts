// Reporting recorded usage to Stripe as billing meter events, never per call: a job sends each
// counter's unreported delta at most once a minute, with a deterministic identifier, to the meter
// of the counter's feature (one meter per metered feature, its event name the feature's code),
// and drift compares what we recorded with what Stripe has, per feature.

import { ADVISORY_LOCKS } from "../../../db/advisory-locks";
import { recordDrift } from "../observe/slo.server";
import { config } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { AppError } from "../platform/errors.server";
import { meterEventIdentifier, meterEventTimestamp, summaryWindow } from "./meter-rules.server";
import { activeCatalog } from "./plans.server";
import { upstream } from "./stripe.server";
import type { StripeTrouble } from "./stripe-errors.server";
import { ensureMeter, meterTotal, refusedByStripe, sendMeterEvent } from "./stripe-meter.server";

type Pending = {
  org_id: string;
  metric: string;
  period_start: string;
  ps: number;
  pe: number;
  used: number;
  reported: number;
  pending_to: number | null;
  customer: string;
};

/**
 * Sends every counter's unreported usage. Per counter: first mark the range [reported, used) as
 * pending (committed), then send it with an identifier made of org, metric, period and range,
 * then mark it reported. A crash between the two resends the same range and identifier: Stripe
 * refuses the repeat, and its totals show the range counted, so it is marked reported. One
 * counter's failure never stops the others; Stripe busy, refusing the key or down stops the run
 * (a StripeUnavailable), since nothing else would get through either.
 */
export async function reportUsageToStripe(): Promise<{ reported: number; orgs: number }> {
  // One reporter at a time across all workers: two could otherwise send overlapping ranges. A
  // caller waits for a run in progress and then sends what is left, so when it returns (or
  // throws) it has itself tried everything recorded before it was called; skipping instead would
  // answer "nothing to report" while usage is unreported, or succeed while Stripe is down.
  const lock = await sql.reserve();
  try {
    await lock`select pg_advisory_lock(${ADVISORY_LOCKS.usageReport})`;
    try {
      return await reportAll();
    } finally {
      await lock`select pg_advisory_unlock(${ADVISORY_LOCKS.usageReport})`;
    }
  } finally {
    lock.release();
  }
}

/** Some counters could not be reported (the others were): the job fails, and the next run retries them. */
export class UsageReportFailed extends Error {
  constructor(
    readonly failures: { orgId: string; metric: string; periodStart: string; reason: string }[],
    readonly reported: number,
  ) {
    super(
      `usage of ${failures.length} counter(s) not reported to Stripe: ${failures.map((f) => `${f.orgId} ${f.metric} (${f.periodStart}): ${f.reason}`).join("; ")}`,
    );
    this.name = "UsageReportFailed";
  }
}

/** The event name of a feature's meter, found or made (named with the catalog's unit) once per process. */
const meterOf = (metric: string) => upstream(() => ensureMeter(metric, activeCatalog().catalog.features[metric]?.unit));

async function reportAll(): Promise<{ reported: number; orgs: number }> {
  // api_call's meter first, whatever there is to send: a run while Stripe is down fails, not "nothing to report".
  await meterOf("api_call");
  const rows = await sql<Pending[]>`
    select c.org_id, c.metric, c.period_start::text, c.used - c.credit_used as used,
           (extract(epoch from c.period_start))::float8 as ps, (extract(epoch from c.period_end))::float8 as pe,
           coalesce(r.reported, 0)::int8 as reported, r.pending_to, o.stripe_customer_id as customer
      from usage_counters c
      join organisations o on o.id = c.org_id and o.stripe_customer_id is not null
      left join usage_reports r on r.org_id = c.org_id and r.metric = c.metric and r.period_start = c.period_start
     where c.used - c.credit_used > coalesce(r.reported, 0) or r.pending_to is not null
     order by c.org_id, c.period_start, c.metric
     limit 1000`;
  let reported = 0;
  const failures: UsageReportFailed["failures"] = [];
  for (const row of rows) {
    try {
      reported += await reportCounter(await meterOf(row.metric), row);
    } catch (err) {
      // Stripe busy (429), refusing the key (401/403) or unreachable: nothing else would get
      // through either, and more requests would only prolong a rate limit; a later run catches up.
      if (err instanceof AppError && err.code === "UPSTREAM_UNAVAILABLE") throw err;
      // Anything else is this counter's alone: the other orgs are still reported.
      failures.push({ orgId: row.org_id, metric: row.metric, periodStart: row.period_start, reason: (err as Error).message });
    }
  }
  if (failures.length > 0) throw new UsageReportFailed(failures, reported);
  return { reported, orgs: new Set(rows.map((r) => r.org_id)).size };
}

/**
 * One counter: first a range left pending by a run that was cut off (resent as it was, with the
 * same identifier), then what is new. Returns the units Stripe counted now.
 */
async function reportCounter(eventName: string, row: Pending): Promise<number> {
  let reported = 0;
  let from = row.reported;
  let pendingTo = row.pending_to;
  while (pendingTo !== null || row.used > from) {
    const to = pendingTo ?? row.used;
    if (pendingTo === null) {
      await sql`
        insert into usage_reports (org_id, metric, period_start, reported, pending_to)
        values (${row.org_id}, ${row.metric}, ${row.period_start}::timestamptz, ${from}, ${to})
        on conflict (org_id, metric, period_start) do update set pending_to = excluded.pending_to`;
    }
    if (to > from) {
      const { timestamp } = meterEventTimestamp({ periodStart: row.ps, periodEnd: row.pe, now: Date.now() / 1000 });
      const identifier = meterEventIdentifier({ orgId: row.org_id, metric: row.metric, periodStart: row.ps, from, to });
      try {
        await upstream(() => sendMeterEvent({ eventName, customerId: row.customer, value: to - from, timestamp, identifier }));
        reported += to - from;
      } catch (err) {
        // Refused: counted already (a resend of a range whose run was cut off after Stripe took
        // it), as Stripe's totals say whatever its message; else the counter's failure, retried.
        if (!refusedByStripe(err) || !(await countedByStripe(eventName, row, from, to))) throw err;
      }
    }
    await sql`
      update usage_reports set reported = ${to}, pending_to = null, reported_at = now()
       where org_id = ${row.org_id} and metric = ${row.metric} and period_start = ${row.period_start}::timestamptz`;
    from = to;
    pendingTo = null;
  }
  return reported;
}

/**
 * Whether Stripe's meter already holds the range [from, to) of this counter, from its totals
 * (never from the wording of a refusal): the total of the feature's meter over a scope, less every
 * range of the feature we know it counted there and every other one still pending there, must
 * leave at least this range. The scope is the counter's own period window, which holds no other
 * period's events; when some of the org's usage of the feature landed outside its period (test
 * clocks, see meter-rules), windows mix periods and the scope is the customer's whole history. Totals lag Stripe's acceptance: a range not
 * counted yet reads as missing, the counter fails this run and a later one asks again. Nothing is
 * ever sent under another identifier, so nothing is counted twice.
 */
async function countedByStripe(eventName: string, row: Pending, from: number, to: number): Promise<boolean> {
  const now = Date.now() / 1000;
  const wholeHistory =
    !meterEventTimestamp({ periodStart: row.ps, periodEnd: row.pe, now }).inPeriod ||
    (await displacedCounters([row.org_id])).has(`${row.org_id} ${row.metric}`);
  // Only this feature's reports: its meter holds no other feature's events.
  const [known] = await sql<{ counted: number; others: number }[]>`
    select coalesce(sum(reported), 0)::int8 as counted,
           coalesce(sum(pending_to - reported) filter (where pending_to is not null
             and period_start <> ${row.period_start}::timestamptz), 0)::int8 as others
      from usage_reports
     where org_id = ${row.org_id} and metric = ${row.metric} and (${wholeHistory} or period_start = ${row.period_start}::timestamptz)`;
  // The whole history: from the epoch to ten minutes ahead (Stripe takes events 5 minutes ahead).
  const scope = wholeHistory ? { start: 0, end: (Math.floor(now / 60) + 10) * 60 } : summaryWindow(row.ps, row.pe);
  const total = await upstream(() => meterTotal({ eventName, customerId: row.customer, ...scope }));
  return total - Number(known.counted) - Number(known.others) >= to - from;
}

/**
 * How long the reporter waits after Stripe stopped a run: busy, its Retry-After (or the limiter's
 * usual wait), doubling while it stays busy, at most 5 minutes; a refused key, 5 minutes doubling
 * to an hour (only an operator fixes it). `attempt` counts the runs stopped in a row, from 1.
 */
export function reportBackoffSeconds(trouble: Exclude<StripeTrouble, { kind: "down" }>, attempt: number): number {
  const twice = 2 ** Math.min(Math.max(0, attempt - 1), 16);
  return trouble.kind === "busy" ? Math.min(300, trouble.retryAfter * twice) : Math.min(3600, 300 * twice);
}

/**
 * - settled: judged; drift is |recorded − Stripe's total| / Stripe's total.
 * - settling: reported to less than STRIPE_METER_LAG_SECONDS ago; Stripe may not have counted it yet.
 * - displaced: some of this customer's usage of the feature could only be reported outside its
 *   period (a test clock ahead of real time, or a report over 35 days late), so Stripe's
 *   per-period totals cannot be compared with the counters.
 */
export type DriftStatus = "settled" | "settling" | "displaced";
export type DriftRow = {
  orgId: string;
  /** The metered feature: its counter, and its meter at Stripe. */
  metric: string;
  periodKey: string;
  periodStart: string;
  recorded: number;
  reported: number;
  drift: number | null;
  status: DriftStatus;
};

type CounterRow = {
  org_id: string;
  metric: string;
  period_key: string;
  ps: number;
  pe: number;
  used: number;
  customer: string | null;
  reported_at: number | null;
};

/** The worst of settled drifts: null when one of them has usage Stripe has none of. */
const worstOf = (rows: DriftRow[]): number | null => {
  const settled = rows.filter((r) => r.status === "settled").map((r) => r.drift);
  return settled.includes(null) ? null : Math.max(0, ...(settled as number[]));
};

/**
 * Recorded (our counters) vs reported (the totals of the feature's Stripe meter) per org, metered
 * feature and period, for one period or all, one feature or all. `drift` is set only for settled
 * rows; `maxDrift` is over settled rows, and `maxDriftByFeature` per feature (null when one of
 * them has usage Stripe has none of).
 */
export async function driftReport(
  periodKey?: string,
  limit = 500,
  lagSeconds = config.STRIPE_METER_LAG_SECONDS,
  metric?: string,
): Promise<{ rows: DriftRow[]; maxDrift: number | null; maxDriftByFeature: Record<string, number | null> }> {
  await meterOf("api_call");
  const counters = await sql<CounterRow[]>`
    select c.org_id, c.metric, c.period_key, c.used - c.credit_used as used, o.stripe_customer_id as customer,
           (extract(epoch from c.period_start))::float8 as ps, (extract(epoch from c.period_end))::float8 as pe,
           (extract(epoch from r.reported_at))::float8 as reported_at
      from usage_counters c join organisations o on o.id = c.org_id
      left join usage_reports r on r.org_id = c.org_id and r.metric = c.metric and r.period_start = c.period_start
     where (${metric ?? null}::text is null or c.metric = ${metric ?? null})
       and (${periodKey ?? null}::text is null or c.period_key = ${periodKey ?? null})
     order by c.period_start desc, c.org_id, c.metric limit ${limit}`;
  const displaced = await displacedCounters([...new Set(counters.map((c) => c.org_id))]);
  const now = Date.now() / 1000;
  const rows: DriftRow[] = [];
  for (const c of counters) {
    const { start, end } = summaryWindow(c.ps, c.pe);
    const eventName = await meterOf(c.metric);
    const reported = c.customer ? await upstream(() => meterTotal({ eventName, customerId: c.customer!, start, end })) : 0;
    const status: DriftStatus = displaced.has(`${c.org_id} ${c.metric}`)
      ? "displaced"
      : // No lag allowed (0, the tests): every report is judged, whatever the clocks' sub-millisecond order.
        lagSeconds > 0 && c.reported_at !== null && now - c.reported_at < lagSeconds
        ? "settling"
        : "settled";
    const drift = status !== "settled" ? null : reported > 0 ? Math.abs(c.used - reported) / reported : c.used === 0 ? 0 : null;
    rows.push({
      orgId: c.org_id,
      metric: c.metric,
      periodKey: c.period_key,
      periodStart: new Date(c.ps * 1000).toISOString(),
      recorded: c.used,
      reported,
      drift,
      status,
    });
  }
  const features = [...new Set(rows.map((r) => r.metric))].sort();
  return {
    rows,
    maxDrift: worstOf(rows),
    maxDriftByFeature: Object.fromEntries(features.map((f) => [f, worstOf(rows.filter((r) => r.metric === f))])),
  };
}

/** `org metric` of the counters whose last report could not be placed inside its period (see meter-rules). */
async function displacedCounters(orgIds: string[]): Promise<Set<string>> {
  if (orgIds.length === 0) return new Set();
  const reports = await sql<{ org_id: string; metric: string; ps: number; pe: number; reported_at: number }[]>`
    select c.org_id, c.metric, (extract(epoch from c.period_start))::float8 as ps, (extract(epoch from c.period_end))::float8 as pe,
           (extract(epoch from r.reported_at))::float8 as reported_at
      from usage_reports r join usage_counters c on c.org_id = r.org_id and c.metric = r.metric and c.period_start = r.period_start
     where r.org_id = any(${orgIds}::text[]) and r.reported_at is not null`;
  return new Set(
    reports
      .filter((r) => meterEventTimestamp({ periodStart: r.ps, periodEnd: r.pe, now: r.reported_at }).inPeriod === false)
      .map((r) => `${r.org_id} ${r.metric}`),
  );
}

/**
 * Run every 5 minutes (worker crontab): the drift of the newest counters against their features'
 * Stripe meter totals, the worst org per period and feature, saved for the SLO
 * (observe/slo.server.ts) and the msp_usage_drift_ratio gauge. A closed period compares what we
 * recorded (as `ops drift` does: it must be exactly 0 once the last report ran); the open period
 * compares what we have confirmed sending, so the usage of the last minute, not reported yet by
 * design, is no breach. Nothing sent yet: no ratio. `byPeriod` is the worst over all features.
 */
export async function measureDrift(lagSeconds?: number): Promise<{
  byPeriod: Record<string, number>;
  byFeature: Record<string, Record<string, number>>;
  byCounter: { orgId: string; metric: string; periodKey: string; drift: number }[];
}> {
  // Only settled rows: a report younger than Stripe's aggregation lag is not judged yet, and
  // usage that could only be reported outside its period (a test clock ahead) has no drift.
  const rows = (await driftReport(undefined, 200, lagSeconds)).rows.filter((r) => r.status === "settled");
  const state = await sql<{ org_id: string; metric: string; ps: string; closed: boolean; sent: number }[]>`
    select c.org_id, c.metric, t.ps, c.period_end < now() - interval '2 minutes' as closed, coalesce(r.reported, 0)::int8 as sent
      from unnest(${rows.map((r) => r.orgId)}::text[], ${rows.map((r) => r.metric)}::text[], ${rows.map((r) => r.periodStart)}::text[]) as t(org_id, metric, ps)
      join usage_counters c on c.org_id = t.org_id and c.metric = t.metric and c.period_start = t.ps::timestamptz
      left join usage_reports r on r.org_id = c.org_id and r.metric = c.metric and r.period_start = c.period_start`;
  const byCounter = new Map(state.map((s) => [`${s.org_id} ${s.metric} ${s.ps}`, s]));
  const byPeriod: Record<string, number> = {};
  const byFeature: Record<string, Record<string, number>> = {};
  const measured: { orgId: string; metric: string; periodKey: string; drift: number }[] = [];
  for (const r of rows) {
    const s = byCounter.get(`${r.orgId} ${r.metric} ${r.periodStart}`);
    const ours = s && !s.closed ? s.sent : r.recorded;
    if (r.reported === 0 && ours === 0) continue;
    const drift = r.reported > 0 ? Math.abs(ours - r.reported) / r.reported : 1;
    measured.push({ orgId: r.orgId, metric: r.metric, periodKey: r.periodKey, drift });
    byPeriod[r.periodKey] = Math.max(byPeriod[r.periodKey] ?? 0, drift);
    byFeature[r.metric] ??= {};
    byFeature[r.metric][r.periodKey] = Math.max(byFeature[r.metric][r.periodKey] ?? 0, drift);
  }
  await recordDrift(byFeature);
  return { byPeriod, byFeature, byCounter: measured };
}
