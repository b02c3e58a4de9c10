// The replay probe (is this request_id already in the ledger?) stays one index probe per request
// however large the org's period has grown: every usage write asks it, for every request. Given
// the period's window as an index condition, a session that planned on a large ledger without
// statistics (this machine's Postgres runs without autovacuum; in production, each month's
// partition until its first ANALYZE) could pick the primary key (org_id, recorded_at, ...) and
// read the org's whole period per request: 11 ms a probe at 190,000 events of a ledger grown by
// real batches, 180 ms a batch of 18 (pgbench), 1 ms with the probe by (org_id, request_id).
// This test holds every probe to that index on a large ledger without statistics, read with
// auto_explain as Postgres ran them. (Its short setup does not lead the old query astray: the
// planner's choice there depended on how the ledger had grown.)
import { afterAll, expect, test } from "bun:test";
import type postgres from "postgres";
import { explainingSession } from "../../../test/explain";
import { orgWithKey } from "../../../test/factories";
import { sql } from "../platform/db.server";

const EVENTS = 30_000;
let session: postgres.Sql | null = null;
afterAll(() => session?.end());

test("record_usage, record_usage_parts and deny_or_replay probe (org_id, request_id), not the org's whole period", async () => {
  const { orgId } = await orgWithKey({ plan: "pro" });
  const [{ partition }] = await sql<{ partition: string }[]>`
    select inhrelid::regclass::text as partition from pg_inherits
     where inhparent = 'usage_events'::regclass and pg_get_expr((select relpartbound from pg_class where oid = inhrelid), inhrelid) like '%' || to_char(now(), 'YYYY-MM') || '-01%'`;
  await sql.unsafe(`alter table ${partition} set (autovacuum_enabled = false)`);
  await sql`
    insert into usage_events (org_id, request_id, metric, quantity, period_start, used_after, included, recorded_at)
    select subscription.org_id, 'bulk_' || n, 'api_call', 1, subscription.period_start, n, 1000000, now()
      from subscriptions subscription, generate_series(1, ${EVENTS}) n
     where subscription.org_id = ${orgId}`;

  // The partition as no ANALYZE has reached it yet (each month's, when the month starts: made
  // ahead of time, empty). Planned on those estimates, the old probe read the period by the primary key.
  await sql`delete from pg_statistic where starelid = ${partition}::regclass`;
  await sql`update pg_class set reltuples = -1, relpages = 0 where oid = ${partition}::regclass`;

  // A new session: its plans are made on the ledger as it is now.
  const explaining = await explainingSession();
  session = explaining.session;
  const { plans } = explaining;

  const answers = await session<{ outcome: string }[]>`
    select outcome from record_usage(array[${orgId}, ${orgId}]::text[], array['bulk_7', 'fresh_1']::text[],
                                     array['api_call', 'api_call']::text[], array[1, 1]::int[], '3 days'::interval, null)
     order by idx`;
  expect(answers.map((a) => a.outcome)).toEqual(["replayed", "admitted"]);
  const denyOrReplay = await session<{ outcome: string }[]>`
    select outcome from deny_or_replay(array[${orgId}]::text[], array['bulk_9']::text[], array['api_call']::text[],
                                       array[1]::int[], '3 days'::interval)`;
  expect(denyOrReplay.map((a) => a.outcome)).toEqual(["replayed"]);
  const parts = await session<{ outcome: string }[]>`
    select outcome from record_usage_parts(array[${orgId}]::text[], array['fresh_2']::text[], array[1, 1]::int[],
                                           array['api_call', 'tokens']::text[], array[1, 5]::int[], '3 days'::interval, null)`;
  expect(parts.map((a) => a.outcome)).toEqual(["admitted", "admitted"]);

  const ledgerScans = plans.flatMap((plan) => plan.split("\n")).filter((line) => /Scan .*on usage_events_/.test(line));
  expect(ledgerScans.length).toBeGreaterThan(0);
  expect(ledgerScans.filter((line) => line.includes("_pkey"))).toEqual([]);
  expect(ledgerScans.some((line) => line.includes("org_id_request_id_idx"))).toBe(true);
});
