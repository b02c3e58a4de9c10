// Reporting recorded usage to Stripe as billing meter events, never per call: a job sends each
// counter's unreported delta at most once a minute, with a deterministic identifier, and drift
// compares what we recorded with what Stripe has.
import { sql } from "../db.server";
import { ensureMeter, meterTotal, sendMeterEvent, upstream } from "../stripe.server";

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
 * pending (committed), then send it with identifier org:metric:period:from-to, then mark it
 * reported. A crash between the two resends the same range and identifier: Stripe counts it once.
 */
export async function reportUsageToStripe(): Promise<{ reported: number; orgs: number }> {
  // One reporter at a time across all workers: two could otherwise send overlapping ranges. A
  // caller waits for a run in progress and then sends what is left, so when it returns (or
  // throws) it has itself tried everything recorded before it was called; skipping instead would
  // answer "nothing to report" while usage is unreported, or succeed while Stripe is down.
  const lock = await sql.reserve();
  try {
    await lock`select pg_advisory_lock(7245002)`;
    try {
      return await reportAll();
    } finally {
      await lock`select pg_advisory_unlock(7245002)`;
    }
  } finally {
    lock.release();
  }
}

async function reportAll(): Promise<{ reported: number; orgs: number }> {
  const eventName = await upstream(() => ensureMeter());
  const rows = await sql<Pending[]>`
    select c.org_id, c.metric, c.period_start::text, c.used,
           (extract(epoch from c.period_start))::float8 as ps, (extract(epoch from c.period_end))::float8 as pe,
           coalesce(r.reported, 0)::int8 as reported, r.pending_to, o.stripe_customer_id as customer
      from usage_counters c
      join organisations o on o.id = c.org_id and o.stripe_customer_id is not null
      left join usage_reports r on r.org_id = c.org_id and r.metric = c.metric and r.period_start = c.period_start
     where c.used > coalesce(r.reported, 0) or r.pending_to is not null
     order by c.org_id, c.period_start
     limit 1000`;
  let reported = 0;
  for (const row of rows) {
    // First a range left pending by a run that was cut off (resent as it was), then what is new.
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
        // Inside the period, as Stripe aggregates by event time (clock time for test clocks).
        const timestamp = Math.floor(Math.max(row.ps, Math.min(Date.now() / 1000, row.pe - 1)));
        const identifier = `${row.org_id}:${row.metric}:${Math.floor(row.ps)}:${from}-${to}`;
        await upstream(() => sendMeterEvent({ eventName, customerId: row.customer, value: to - from, timestamp, identifier }));
        reported += to - from;
      }
      await sql`
        update usage_reports set reported = ${to}, pending_to = null, reported_at = now()
         where org_id = ${row.org_id} and metric = ${row.metric} and period_start = ${row.period_start}::timestamptz`;
      from = to;
      pendingTo = null;
    }
  }
  return { reported, orgs: new Set(rows.map((r) => r.org_id)).size };
}

export type DriftRow = { orgId: string; periodKey: string; periodStart: string; recorded: number; reported: number; drift: number | null };

/** Recorded (our counters) vs reported (Stripe's meter totals) per org and period. */
export async function driftReport(periodKey?: string, limit = 500): Promise<{ rows: DriftRow[]; maxDrift: number | null }> {
  const eventName = await upstream(() => ensureMeter());
  const counters = await sql<{ org_id: string; period_key: string; period_start: string; ps: number; pe: number; used: number; customer: string | null }[]>`
    select c.org_id, c.period_key, c.period_start::text, c.used, o.stripe_customer_id as customer,
           (extract(epoch from c.period_start))::float8 as ps, (extract(epoch from c.period_end))::float8 as pe
      from usage_counters c join organisations o on o.id = c.org_id
     where c.metric = 'api_call' and (${periodKey ?? null}::text is null or c.period_key = ${periodKey ?? null})
     order by c.period_start desc, c.org_id limit ${limit}`;
  const rows: DriftRow[] = [];
  for (const c of counters) {
    const reported = c.customer ? await upstream(() => meterTotal({ eventName, customerId: c.customer!, start: Math.floor(c.ps), end: Math.ceil(c.pe) })) : 0;
    const drift = reported > 0 ? Math.abs(c.used - reported) / reported : c.used === 0 ? 0 : null;
    rows.push({ orgId: c.org_id, periodKey: c.period_key, periodStart: new Date(c.ps * 1000).toISOString(), recorded: c.used, reported, drift });
  }
  const drifts = rows.map((r) => r.drift);
  return { rows, maxDrift: drifts.includes(null) ? null : Math.max(0, ...(drifts as number[])) };
}
