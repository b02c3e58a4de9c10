// The usage history (GET /api/v1/usage/history): an org's usage per hour, day or month of a time
// zone, per metric or per metric and API key, read from the hourly rollup (usage_hourly), which
// record_usage writes with the counters in the same transaction, so the buckets of a range add up
// exactly to what the counters counted in it.
//
// Buckets. usage_hourly holds UTC hours. An hour bucket is one UTC hour (labelled with the zone's
// offset, so a day that falls back shows 01:00-04:00 and 01:00-05:00 as two buckets). A day or
// month bucket starts at local midnight of the zone (AT TIME ZONE, so a DST day has 23 or 25
// hours) and holds the UTC hours that start inside it. In a zone whose offset is not a whole
// number of hours (Asia/Kolkata +05:30, Asia/Kathmandu +05:45, Australia/Adelaide +09:30/+10:30),
// the UTC hour that straddles local midnight counts, whole, in the day (and month) where it
// starts: such a bucket may hold up to 45 minutes of the previous local day and leave out as much
// of its own at the end. Nothing is split, counted twice or lost: every hourly row is in exactly
// one bucket.
//
// Labels. A bucket is labelled with its start as RFC 3339 local time and offset, which carries
// whole minutes and the years 0001 to 9999: an offset with seconds (local mean time, New York's
// -04:56:02 until 1883) is rounded to the minute and the local time shown at that offset, so the
// label is still the exact instant; a range whose buckets leave those years is refused.
import type { z } from "zod";
import { HISTORY_MAX_DAYS, type historyQuery, type usageHistory } from "../api/schemas.server";
import { sql } from "../platform/db.server";
import { AppError, unknownMetric } from "../platform/errors.server";

export type HistoryQuery = z.output<typeof historyQuery>;
export type UsageHistory = z.infer<typeof usageHistory>;

const DAY_MS = 86_400_000;
// An IANA name (Region/City, Etc/GMT+5, UTC): never a POSIX offset such as "+05:30", which
// Postgres reads with the sign inverted.
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

const badInput = (path: string, message: string) => new AppError("VALIDATION_FAILED", message, { issues: [{ path, message }] });

/** A time zone both Intl and Postgres know by that name, or a VALIDATION_FAILED naming it. */
function checkZone(tz: string): void {
  let known = ZONE_NAME.test(tz);
  if (known) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
    } catch {
      known = false;
    }
  }
  if (!known) throw badInput("tz", `Unknown time zone "${tz}": use an IANA name such as "UTC" or "America/New_York".`);
}

/** Postgres's answer to a date or zone it cannot read (22007/22008 a bad date, 22009 an offset out of range, 22023 an unknown zone). */
function isBadDateOrZone(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === "22007" || code === "22008" || code === "22009" || code === "22023";
}

type Bounds = { from_ms: number; to_ms: number };
// local_ms: the zone's wall clock at the instant, read as if it were UTC.
type Bucket = { local_ms: number; start_ms: number };
type UsageRow = { metric: string; key_id: string | null; start_ms: number; quantity: number };
type Answer = { buckets: Bucket[]; usage: UsageRow[] | null; end_local_ms: number; end_ms: number };

/**
 * The history of `orgId` for the query (parsed by historyQuery). Throws VALIDATION_FAILED for a bad
 * zone, date or range, or a metric the catalog never metered.
 */
export async function usageHistoryOf(orgId: string, query: HistoryQuery): Promise<UsageHistory> {
  const { granularity, groupBy, tz } = query;
  checkZone(tz);
  if (query.metric !== undefined) await checkMetered(query.metric);
  let bounds: Bounds;
  try {
    [bounds] = await sql<Bounds[]>`
      select (extract(epoch from f) * 1000)::float8 as from_ms, (extract(epoch from t) * 1000)::float8 as to_ms
        from (select case when length(${query.from}) = 10 then ${query.from}::date::timestamp at time zone ${tz}
                          else ${query.from}::timestamptz end as f,
                     case when length(${query.to}) = 10 then ${query.to}::date::timestamp at time zone ${tz}
                          else ${query.to}::timestamptz end as t) range`;
  } catch (err) {
    if (isBadDateOrZone(err)) throw badInput("from", `"from" and "to" must be real dates and "tz" a known time zone.`);
    throw err;
  }
  if (!(bounds.to_ms > bounds.from_ms)) throw badInput("to", `"to" must be after "from".`);
  const maxDays = HISTORY_MAX_DAYS[granularity];
  if (bounds.to_ms - bounds.from_ms > maxDays * DAY_MS) {
    throw badInput("to", `A range of granularity "${granularity}" may span at most ${maxDays} days; ask a coarser granularity or a shorter range.`);
  }
  // Hour buckets are UTC hours; day and month buckets follow the zone's wall clock.
  const zone = granularity === "hour" ? "UTC" : tz;
  const step = `1 ${granularity}`;
  const [answer] = await sql<Answer[]>`
    with bounds as (
      select date_trunc(${granularity}, to_timestamp(${bounds.from_ms}::float8 / 1000) at time zone ${zone}) as first_local,
             date_trunc(${granularity}, (to_timestamp(${bounds.to_ms}::float8 / 1000) - interval '1 microsecond') at time zone ${zone}) as last_local
    ), buckets as (
      select bucket_local, bucket_local at time zone ${zone} as start
        from bounds, generate_series(first_local, last_local, ${step}::interval) bucket_local
    ), usage as (
      select hourly.metric, case when ${groupBy} = 'key' then hourly.key_id end as key_id,
             date_trunc(${granularity}, hourly.hour at time zone ${zone}) as bucket_local, sum(hourly.quantity)::int8 as quantity
        from usage_hourly hourly, bounds
       where hourly.org_id = ${orgId}
         and hourly.hour >= (first_local at time zone ${zone}) - interval '1 hour'
         and hourly.hour < ((last_local + ${step}::interval) at time zone ${zone}) + interval '1 hour'
         and date_trunc(${granularity}, hourly.hour at time zone ${zone}) between first_local and last_local
         and (${query.metric ?? null}::text is null or hourly.metric = ${query.metric ?? null}::text)
       group by 1, 2, 3
    )
    select (select json_agg(json_build_object(
                     'local_ms', (extract(epoch from start at time zone ${tz}) * 1000)::float8,
                     'start_ms', (extract(epoch from start) * 1000)::float8) order by bucket_local)
              from buckets) as buckets,
           (select json_agg(json_build_object(
                     'metric', usage.metric, 'key_id', usage.key_id,
                     'start_ms', (extract(epoch from usage.bucket_local at time zone ${zone}) * 1000)::float8,
                     'quantity', usage.quantity))
              from usage) as usage,
           (extract(epoch from (last_local + ${step}::interval) at time zone ${zone} at time zone ${tz}) * 1000)::float8 as end_local_ms,
           (extract(epoch from (last_local + ${step}::interval) at time zone ${zone}) * 1000)::float8 as end_ms
      from bounds`;
  const buckets = answer.buckets;
  // Matched by instant, not label: a day that falls back has two hours labelled 01:00.
  const series = new Map<string, { metric: string; keyId: string | null; byStart: Map<number, number> }>();
  for (const row of answer.usage ?? []) {
    const keyId = groupBy === "key" ? row.key_id || null : null;
    const id = `${row.metric}\u0000${keyId ?? ""}`;
    let one = series.get(id);
    if (!one) {
      one = { metric: row.metric, keyId, byStart: new Map() };
      series.set(id, one);
    }
    one.byStart.set(row.start_ms, (one.byStart.get(row.start_ms) ?? 0) + Number(row.quantity));
  }
  const starts = buckets.map((b) => labelOf(b.local_ms, b.start_ms));
  const sorted = [...series.values()].sort((a, b) => compare(a.metric, b.metric) || compare(a.keyId ?? "", b.keyId ?? ""));
  return {
    from: starts[0],
    to: labelOf(answer.end_local_ms, answer.end_ms),
    granularity,
    groupBy,
    tz,
    series: sorted.map(({ metric, keyId, byStart }) => {
      const points = buckets.map((b, i) => ({ start: starts[i], quantity: byStart.get(b.start_ms) ?? 0 }));
      const total = points.reduce((sum, p) => sum + p.quantity, 0);
      return groupBy === "key" ? { metric, keyId, total, points } : { metric, total, points };
    }),
  } as UsageHistory;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The RFC 3339 label of the instant `ms`, where the zone's wall clock reads `localMs`:
 * "2026-11-01T00:00:00-04:00". The offset is rounded to the minute and the local time follows it,
 * so the label parses back to `ms` exactly. VALIDATION_FAILED when the local year is not 0001–9999.
 */
function labelOf(localMs: number, ms: number): string {
  const minutes = Math.round((localMs - ms) / 60_000);
  const local = new Date(ms + minutes * 60_000);
  const year = local.getUTCFullYear();
  if (!(year >= 1 && year <= 9999)) {
    throw badInput(year < 1 ? "from" : "to", `"from" and "to", widened to whole buckets in "tz", must stay within the years 0001 to 9999.`);
  }
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${local.toISOString().slice(0, 19)}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/**
 * A metric the catalog meters or once metered (its history outlives it), as the quota check
 * decides: a feature's row stays after a catalog version drops it, and its type never changes.
 */
async function checkMetered(metric: string): Promise<void> {
  const [feature] = await sql`select 1 from features where code = ${metric} and type = 'metered'`;
  if (!feature) throw unknownMetric("metric", metric);
}

/** The history as CSV, one line per point: `metric,start,quantity` (with `keyId` after metric when grouped by key). */
export function historyCsv(history: UsageHistory): string {
  const byKey = history.groupBy === "key";
  const lines = [byKey ? "metric,keyId,start,quantity" : "metric,start,quantity"];
  for (const s of history.series) {
    for (const p of s.points) {
      const cells = byKey ? [s.metric, s.keyId ?? "", p.start, String(p.quantity)] : [s.metric, p.start, String(p.quantity)];
      lines.push(cells.map(csvCell).join(","));
    }
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** RFC 4180 quoting; a cell a spreadsheet would run as a formula is prefixed with '. */
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) && !/^[+-]?\d/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/**
 * Each API key's usage since `since` (the current period's start), per metric, from the hourly
 * rollup: the keys page's column. The hour holding `since` counts whole (as the dashboard's
 * chart does); usage recorded without a key is under ''.
 */
export async function usageByKeySince(orgId: string, since: string): Promise<Record<string, Record<string, number>>> {
  const rows = await sql<{ key_id: string; metric: string; quantity: number }[]>`
    select key_id, metric, sum(quantity)::int8 as quantity
      from usage_hourly
     where org_id = ${orgId} and hour >= date_trunc('hour', ${since}::timestamptz)
     group by 1, 2`;
  const out: Record<string, Record<string, number>> = {};
  for (const row of rows) {
    out[row.key_id] ??= {};
    out[row.key_id][row.metric] = Number(row.quantity);
  }
  return out;
}
