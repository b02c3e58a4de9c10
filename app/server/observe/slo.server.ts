// The SLOs, visible from any process: each process counts its observations per minute and per
// histogram bucket, and adds them to slo_buckets every ~10 s (one statement). /admin, `ops slo`
// and the breach watch merge the buckets of every process, so a window's percentiles are exact
// to the bucket, and "within target" is exact because each target is a bucket bound.
import { config } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { log } from "../platform/log.server";
import { CONVERGE_BOUNDS, LATENCY_BOUNDS } from "./metrics.server";
import { captureMessage, flushSentry } from "./sentry.server";

export const SERIES = { quota_latency: LATENCY_BOUNDS, converge: CONVERGE_BOUNDS } as const;
export type Series = keyof typeof SERIES;

export const TARGETS = { quotaP95Seconds: 0.05, convergeP95Seconds: 5, driftMax: 0.005 } as const;
const FLUSH_MS = 10_000;

type Minute = { minute: number; counts: Float64Array };
type Recorder = { pending: Map<Series, Map<number, Float64Array>>; current: Map<Series, Minute>; timer: ReturnType<typeof setInterval> | null };
const rec: Recorder = { pending: new Map(), current: new Map(), timer: null };

function bucketOf(bounds: readonly number[], value: number): number {
  for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]) return i;
  return bounds.length; // +Inf
}

/** This process's unsaved counts of one series and minute (created empty when new). */
function countsOf(series: Series, minute: number): Float64Array {
  let byMinute = rec.pending.get(series);
  if (!byMinute) {
    byMinute = new Map();
    rec.pending.set(series, byMinute);
  }
  let counts = byMinute.get(minute);
  if (!counts) {
    counts = new Float64Array(SERIES[series].length + 1);
    byMinute.set(minute, counts);
  }
  return counts;
}

/** Counts one observation in this minute's buckets (O(1): a map hit and an increment). */
export function observeSlo(series: Series, seconds: number): void {
  if (config.METRICS === "off") return;
  const minute = Math.floor(Date.now() / 60_000);
  let cur = rec.current.get(series);
  if (cur?.minute !== minute) {
    cur = { minute, counts: countsOf(series, minute) };
    rec.current.set(series, cur);
    if (!rec.timer) {
      rec.timer = setInterval(() => void flushSlo().catch((err) => log.warn({ err }, "SLO buckets not saved; retrying")), FLUSH_MS);
      rec.timer.unref?.();
    }
  }
  cur.counts[bucketOf(SERIES[series], seconds)]++;
}

/** Adds this process's unsaved counts to slo_buckets; on failure they stay for the next flush. */
export async function flushSlo(): Promise<void> {
  const taken = rec.pending;
  rec.pending = new Map();
  rec.current.clear();
  const series: string[] = [];
  const minutes: string[] = [];
  const buckets: number[] = [];
  const counts: number[] = [];
  for (const [s, byMinute] of taken)
    for (const [minute, c] of byMinute)
      for (let i = 0; i < c.length; i++) {
        if (c[i] === 0) continue;
        series.push(s);
        minutes.push(new Date(minute * 60_000).toISOString());
        buckets.push(i);
        counts.push(c[i]);
      }
  if (series.length === 0) return;
  try {
    await sql`
      insert into slo_buckets (series, minute, bucket, count)
      select s, m::timestamptz, b::int2, c::int8 from unnest(${series}::text[], ${minutes}::text[], ${buckets}::int[], ${counts}::float8[]) as t(s, m, b, c)
      on conflict (series, minute, bucket) do update set count = slo_buckets.count + excluded.count`;
  } catch (err) {
    // Nothing was added: merge the counts back so the next flush adds them.
    rec.current.clear();
    for (const [s, byMinute] of taken)
      for (const [minute, c] of byMinute) {
        const into = countsOf(s, minute);
        for (let i = 0; i < c.length; i++) into[i] += c[i];
      }
    throw err;
  }
}

/** The q-quantile of a merged histogram, interpolated inside its bucket; null without samples. */
export function quantile(bounds: readonly number[], counts: number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    if (cum + counts[i] >= rank && counts[i] > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lower = i === 0 ? 0 : bounds[i - 1];
      return lower + (bounds[i] - lower) * ((rank - cum) / counts[i]);
    }
    cum += counts[i];
  }
  return bounds[bounds.length - 1];
}

async function windowCounts(series: Series, minutes: number): Promise<number[]> {
  const rows = await sql<{ bucket: number; n: number }[]>`
    select bucket, sum(count)::int8 as n from slo_buckets
     where series = ${series} and minute >= date_trunc('minute', now()) - make_interval(mins => ${minutes - 1})
     group by bucket`;
  const counts = new Array<number>(SERIES[series].length + 1).fill(0);
  for (const r of rows) counts[r.bucket] = r.n;
  return counts;
}

export type SloLine = { slo: string; window: string; value: number | null; target: number; unit: "s" | "ratio"; samples: number; ok: boolean };

function line(slo: string, window: string, series: Series, counts: number[], q: number, target: number): SloLine {
  const value = quantile(SERIES[series], counts, q);
  const samples = counts.reduce((a, b) => a + b, 0);
  return { slo, window, value, target, unit: "s", samples, ok: value === null || value <= target };
}

/** Every SLO against its target: quota p95/p99 over 5 and 60 minutes, converge p95, drift max. */
export type SloReport = { at: string; ok: boolean; slos: SloLine[] };

export async function sloReport(): Promise<SloReport> {
  const [q5, q60, c5, c60, drift] = await Promise.all([
    windowCounts("quota_latency", 5),
    windowCounts("quota_latency", 60),
    windowCounts("converge", 5),
    windowCounts("converge", 60),
    sql<{ metric: string; max_drift: number; n: number }[]>`
      select metric, max(max_drift) as max_drift, count(*)::int as n from slo_drift
       where measured_at > now() - interval '1 hour' group by metric order by metric`,
  ]);
  const t = TARGETS.quotaP95Seconds;
  const slos: SloLine[] = [
    line("quota_p95", "5m", "quota_latency", q5, 0.95, t),
    line("quota_p99", "5m", "quota_latency", q5, 0.99, t),
    line("quota_p95", "60m", "quota_latency", q60, 0.95, t),
    line("quota_p99", "60m", "quota_latency", q60, 0.99, t),
    line("converge_p95", "5m", "converge", c5, 0.95, TARGETS.convergeP95Seconds),
    line("converge_p95", "60m", "converge", c60, 0.95, TARGETS.convergeP95Seconds),
  ];
  // p99 is shown against the p95 target for reference; only p95 and drift decide breaches.
  slos[1].ok = slos[3].ok = true;
  // The worst drift of every metered feature, then each feature's own (each alerts on its own).
  const driftLine = (slo: string, value: number | null, samples: number): SloLine => ({
    slo,
    window: "60m",
    value,
    target: TARGETS.driftMax,
    unit: "ratio",
    samples,
    ok: value === null || value <= TARGETS.driftMax,
  });
  const worst = drift.length === 0 ? null : Math.max(...drift.map((d) => d.max_drift));
  slos.push(
    driftLine(
      "drift_max",
      worst,
      drift.reduce((n, d) => n + d.n, 0),
    ),
  );
  for (const d of drift) slos.push(driftLine(`drift_max:${d.metric}`, d.max_drift, d.n));
  return { at: new Date().toISOString(), ok: slos.every((s) => s.ok), slos };
}

/**
 * The SLOs that decide alerts, each evaluated on its 5-minute window; drift on its last
 * measurement, per metered feature (`drift_max:tokens/60m`): a breach names its feature.
 */
const ALERTING = new Set(["quota_p95/5m", "converge_p95/5m"]);
const alerting = (id: string) => ALERTING.has(id) || /^drift_max:[^/]+\/60m$/.test(id);
export const BREACH_MINUTES = 5;

/**
 * Run every minute (worker crontab): an SLO breached for BREACH_MINUTES raises one error line
 * and one Sentry event per breach; recovery closes it. Old buckets are dropped (2 hours kept).
 */
export async function watchSlos(): Promise<{ alerted: string[]; recovered: string[] }> {
  const report = await sloReport();
  const alerted: string[] = [];
  const recovered: string[] = [];
  for (const s of report.slos) {
    const id = `${s.slo}/${s.window}`;
    if (!alerting(id)) continue;
    if (s.ok) {
      const [gone] = await sql<{ alerted: boolean }[]>`delete from slo_breaches where slo = ${id} returning alerted_at is not null as alerted`;
      if (gone?.alerted) {
        recovered.push(id);
        log.info({ slo: id, value: s.value, target: s.target }, "SLO recovered");
      }
      continue;
    }
    await sql`insert into slo_breaches (slo) values (${id}) on conflict (slo) do nothing`;
    // One alert per breach, even with several workers: the row is claimed by one update.
    const [claimed] = await sql<{ since: string }[]>`
      update slo_breaches set alerted_at = now()
       where slo = ${id} and alerted_at is null and breached_since <= now() - make_interval(mins => ${BREACH_MINUTES})
      returning breached_since::text as since`;
    if (claimed) {
      alerted.push(id);
      const detail = { slo: id, value: s.value, target: s.target, samples: s.samples, breached_since: claimed.since };
      log.error(detail, "SLO breached");
      captureMessage(`SLO breached: ${id}`, detail);
    }
  }
  await sql`delete from slo_buckets where minute < now() - interval '2 hours'`;
  return { alerted, recovered };
}

/** Saves the worst drift per metered feature and period (billing/meter-report.server.ts measures it) for the drift SLO. */
export async function recordDrift(worstByFeature: Record<string, Record<string, number>>): Promise<void> {
  const rows = Object.entries(worstByFeature).flatMap(([metric, byPeriod]) => Object.entries(byPeriod).map(([period, drift]) => ({ metric, period, drift })));
  if (rows.length === 0) return;
  await sql`
    insert into slo_drift (period_key, metric, max_drift, measured_at)
    select p, m, d, now() from unnest(${rows.map((r) => r.period)}::text[], ${rows.map((r) => r.metric)}::text[], ${rows.map((r) => r.drift)}::float8[]) as t(p, m, d)
    on conflict (period_key, metric) do update set max_drift = excluded.max_drift, measured_at = excluded.measured_at`;
}

/** Before a process exits: this process's SLO counts and queued Sentry events go out. */
export async function flushObservations(): Promise<void> {
  await flushSlo().catch((err) => log.warn({ err }, "SLO buckets not saved at exit"));
  await flushSentry();
}
