// usage.threshold_reached per metered feature: tokens cross 80% and 100% of their own included
// units once each, whatever the concurrency, and api_call's thresholds are its own. Tokens are
// recorded through record_usage (the engine's one statement), since the HTTP API meters api_call only for now.
import { describe, expect, test } from "bun:test";
import { orgWithKey, rid } from "../../../test/factories";
import { sql } from "../platform/db.server";
import { recordUsage } from "../usage/engine.server";

async function thresholdEvents(orgId: string) {
  return sql<{ metric: string; threshold: number; used: number; included: number; jobs: number }[]>`
    select e.data->>'metric' as metric, (e.data->>'threshold')::int as threshold, (e.data->>'used')::int8 as used,
           (e.data->>'included')::int8 as included,
           (select count(*) from graphile_worker._private_jobs j
              join graphile_worker._private_tasks t on t.id = j.task_id
             where t.identifier = 'dispatch_event' and j.payload->>'eventId' = e.id)::int as jobs
      from events e where e.org_id = ${orgId} and e.type = 'usage.threshold_reached' order by metric, threshold`;
}

/** One request of `quantity` tokens, as the engine records it: its outcome. */
async function recordTokens(orgId: string, quantity: number): Promise<string> {
  const [r] = await sql<{ outcome: string }[]>`
    select outcome from record_usage(${[orgId]}::text[], ${[rid("tok")]}::text[], ${["tokens"]}::text[], ${[quantity]}::int[], interval '3 days')`;
  return r.outcome;
}

describe("usage thresholds per metered feature", () => {
  test("tokens: 300 concurrent records emit 80% and 100% of the tokens allowance once each, naming tokens", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    // The first record makes the period's tokens counter with the plan's units (starter: 5,000,000).
    expect(await recordTokens(orgId, 3_999_000)).toBe("admitted");
    expect((await thresholdEvents(orgId)).length).toBe(0);
    // 300 × 5,000 = 1,500,000 more, against the 1,001,000 left: 200 fit, the rest are denied.
    const outcomes = await Promise.all(Array.from({ length: 300 }, () => recordTokens(orgId, 5_000)));
    expect(outcomes.filter((o) => o === "admitted").length).toBe(200);
    const [counter] = await sql<{ used: number; included: number }[]>`
      select used::int8, included::int8 from usage_counters where org_id = ${orgId} and metric = 'tokens'`;
    expect(counter).toEqual({ used: 4_999_000, included: 5_000_000 });
    expect(await recordTokens(orgId, 1_000)).toBe("admitted");
    const events = await thresholdEvents(orgId);
    expect(events.map((e) => [e.metric, e.threshold, e.included, e.jobs])).toEqual([
      ["tokens", 80, 5_000_000, 1],
      ["tokens", 100, 5_000_000, 1],
    ]);
    // `used` is the counter after the request that crossed: at or past its threshold.
    expect(events.every((e) => e.used * 100 >= e.threshold * e.included)).toBe(true);
  });

  test("api_call and tokens cross their thresholds independently: each feature's events once, none for the other", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    // 80% of api_call (starter: 50,000) and 50% of tokens: api_call's 80 only.
    await recordUsage({ orgId, requestId: rid(), metric: "api_call", quantity: 40_000 });
    expect(await recordTokens(orgId, 2_500_000)).toBe("admitted");
    expect((await thresholdEvents(orgId)).map((e) => [e.metric, e.threshold])).toEqual([["api_call", 80]]);
    // Tokens to 80%, then api_call on, then tokens again below 100%: nothing repeats.
    expect(await recordTokens(orgId, 1_500_000)).toBe("admitted");
    await recordUsage({ orgId, requestId: rid(), metric: "api_call", quantity: 1 });
    expect(await recordTokens(orgId, 1)).toBe("admitted");
    expect((await thresholdEvents(orgId)).map((e) => [e.metric, e.threshold, e.used])).toEqual([
      ["api_call", 80, 40_000],
      ["tokens", 80, 4_000_000],
    ]);
  });
});
