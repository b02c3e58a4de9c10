// The entitlements reads find the period's counters by (org_id, period_start, metric), every metric at
// once. The primary key (org_id, metric, period_start) cannot bound that by period: read by it,
// the lookup walked the org's counters of every period it ever had, and the read grew with the
// org's age (pgbench: 29 µs of Postgres per read with this period's 2 counters, 35–38 µs once 5
// years of 3 metrics were behind it; 30 µs with the index). This test holds the reads, as
// Postgres ran them (auto_explain), to that index on an org with years of
// counters, and checks they answer this period's counters only.
import { afterAll, expect, test } from "bun:test";
import type postgres from "postgres";
import { explainingSession } from "../../../test/explain";
import { orgWithKey, pinToPlanVersion } from "../../../test/factories";
import { sql } from "../platform/db.server";

let session: postgres.Sql | null = null;
afterAll(() => session?.end());

test("period_usage_of and entitlement_usage_of read this period's counters by (org_id, period_start, metric), not every period's", async () => {
  const { orgId } = await orgWithKey({ plan: "pro" });
  await pinToPlanVersion(orgId);
  // This period's counters, and 5 years of 3 metrics before it, for this org and 50 others (a
  // table with history, as the planner sees it after ANALYZE).
  const others = Array.from({ length: 50 }, (_, i) => `${orgId}_peer_${i}`);
  await sql`insert into organisations (id, name) select id, id from unnest(${others}::text[]) id`;
  await sql`
    insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
    select subscription.org_id, metric, subscription.period_start, subscription.period_end,
           to_char(subscription.period_start at time zone 'UTC', 'YYYY-MM'), 1000000, used
      from subscriptions subscription, (values ('api_call', 7), ('tokens', 1532)) counted(metric, used)
     where subscription.org_id = ${orgId}`;
  await sql`
    insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
    select owner.id, metric, subscription.period_start - make_interval(months => months_ago),
           subscription.period_start - make_interval(months => months_ago - 1),
           to_char((subscription.period_start - make_interval(months => months_ago)) at time zone 'UTC', 'YYYY-MM'), 1000, 999
      from subscriptions subscription,
           unnest(${[orgId, ...others]}::text[]) owner(id),
           generate_series(1, 60) months_ago,
           unnest(array['api_call', 'tokens', 'storage']) metric
     where subscription.org_id = ${orgId}`;
  await sql`analyze usage_counters`;

  const explaining = await explainingSession();
  session = explaining.session;
  const { plans } = explaining;

  const lean = await session<{ metric: string; used: number }[]>`
    select metric, used::int from period_usage_of(${orgId}, '3 days'::interval) order by metric`;
  expect(lean.map((r) => [r.metric, r.used])).toEqual([
    ["api_call", 7],
    ["tokens", 1532],
  ]);
  const full = await session<{ metric: string; used: number }[]>`
    select metric, used::int from entitlement_usage_of(${orgId}, '3 days'::interval) order by metric`;
  expect(full.map((r) => [r.metric, r.used])).toEqual([
    ["api_call", 7],
    ["tokens", 1532],
  ]);

  // Every way Postgres reached the counters, with its condition (a bitmap heap scan names its index
  // on the line below it). By the primary key only with the metric given: one counter, not a walk.
  const lines = plans.flatMap((plan) => plan.split("\n"));
  const counterScans = lines.flatMap((line, i) =>
    /(Seq|Index|Index Only|Bitmap Index) Scan .*on usage_counters/.test(line) ? [{ scan: line.trim(), cond: lines[i + 1]?.trim() ?? "" }] : [],
  );
  expect(counterScans.length).toBeGreaterThan(0);
  expect(counterScans.some(({ scan }) => scan.includes("usage_counters_org_period_idx"))).toBe(true);
  const walks = counterScans.filter(
    ({ scan, cond }) => !scan.includes("usage_counters_org_period_idx") && !(scan.includes("_pk") && cond.includes("metric =")),
  );
  expect(walks).toEqual([]);
});
