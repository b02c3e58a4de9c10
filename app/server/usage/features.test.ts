// Every metered feature is exact: tokens behave as api_call does; a request of several features is
// admitted whole or denied whole, replays identically and conflicts on other quantities; the
// catalog decides which features exist (400) and the plan version which ones the org has (403) and
// how many units its counters start with. Real Postgres, real HTTP, two app processes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { api, orgWithKey, rid, setSubscriptionMirror } from "../../../test/factories";
import { currentCatalog, publishCatalog } from "../billing/catalog.server";
import { refreshCatalog } from "../billing/plans.server";
import type { Catalog } from "../domain/catalog.server";
import { sql } from "../platform/db.server";

let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  [a, b] = await Promise.all([startApp(), startApp()]);
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
});

/** The org's period counters with these included units (what convergence writes). */
async function setUnits(orgId: string, units: Record<string, number>) {
  for (const [metric, included] of Object.entries(units))
    await sql`
      insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
      select org_id, ${metric}, period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), ${included}, 0
        from subscriptions where org_id = ${orgId}
      on conflict (org_id, metric, period_start) do update set included = excluded.included`;
}

/** Per metric: the counter's used, the ledger's sum and rows. */
async function countsByMetric(orgId: string) {
  const rows = await sql<{ metric: string; used: number; ledger: number; rows: number }[]>`
    select counter.metric, counter.used::int8 as used,
           coalesce((select sum(event.quantity) from usage_events event where event.org_id = counter.org_id and event.metric = counter.metric), 0)::int8 as ledger,
           (select count(*) from usage_events event where event.org_id = counter.org_id and event.metric = counter.metric)::int8 as rows
      from usage_counters counter where counter.org_id = ${orgId} order by counter.metric`;
  return Object.fromEntries(rows.map((r) => [r.metric, { used: r.used, ledger: r.ledger, rows: r.rows }]));
}

const json = async (r: Response) => ({ status: r.status, replayed: r.headers.get("idempotent-replayed"), body: (await r.json()) as any });

describe("tokens, like api_call", () => {
  test("quota and usage of tokens answer as api_call does, on its own counter", async () => {
    const { orgId, key } = await orgWithKey();
    const c = api(a.url, key);
    const quota = await json(await c.quota("?metric=tokens"));
    expect(quota.status).toBe(200);
    // starter grants 5,000,000 tokens (catalog/default.json); no counter yet: used 0.
    expect(quota.body.data).toMatchObject({ allow: true, metric: "tokens", used: 0, included: 5_000_000, remaining: 5_000_000, planCode: "starter" });

    const id = rid();
    const first = await json(await c.record({ request_id: id, metric: "tokens", quantity: 1532 }));
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ request_id: id, metric: "tokens", quantity: 1532, used: 1532, included: 5_000_000, remaining: 5_000_000 - 1532 });
    const again = await json(await c.record({ request_id: id, metric: "tokens", quantity: 1532 }));
    expect([again.status, again.replayed, again.body]).toEqual([200, "true", first.body]);
    expect((await json(await c.record({ request_id: id, metric: "tokens", quantity: 1 }))).body.error.code).toBe("IDEMPOTENCY_CONFLICT");
    expect((await json(await c.record({ request_id: id, metric: "api_call", quantity: 1532 }))).body.error.code).toBe("IDEMPOTENCY_CONFLICT");

    expect((await json(await c.quota("?metric=tokens"))).body.data).toMatchObject({ used: 1532, remaining: 5_000_000 - 1532 });
    expect(await countsByMetric(orgId)).toEqual({ tokens: { used: 1532, ledger: 1532, rows: 1 } });
  });

  test("tokens stop hard at the quota: 429 naming tokens, nothing counted", async () => {
    const { orgId, key } = await orgWithKey();
    await setUnits(orgId, { tokens: 100 });
    const c = api(a.url, key);
    expect((await c.record({ request_id: rid(), metric: "tokens", quantity: 100 })).status).toBe(200);
    const denied = await json(await c.record({ request_id: rid(), metric: "tokens", quantity: 1 }));
    expect([denied.status, denied.body.error.code, denied.body.error.details.metric]).toEqual([429, "QUOTA_EXCEEDED", "tokens"]);
    expect((await json(await c.quota("?metric=tokens"))).body.data).toMatchObject({ allow: false, used: 100, remaining: 0 });
    expect(await countsByMetric(orgId)).toEqual({ tokens: { used: 100, ledger: 100, rows: 1 } });
  });
});

describe("several features in one request", () => {
  test("admitted whole: each feature's counter moves, one ledger row per feature under one request_id", async () => {
    const { orgId, key } = await orgWithKey();
    const c = api(a.url, key);
    const id = rid();
    const first = await json(await c.record({ request_id: id, quantities: { tokens: 1532, api_call: 1 } }));
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({
      request_id: id,
      features: {
        api_call: { quantity: 1, used: 1, included: 50_000, remaining: 49_999 },
        tokens: { quantity: 1532, used: 1532, included: 5_000_000, remaining: 5_000_000 - 1532 },
      },
    });
    // Replays identically on either process, in any key order.
    const again = await json(await api(b.url, key).record({ request_id: id, quantities: { api_call: 1, tokens: 1532 } }));
    expect([again.status, again.replayed, again.body]).toEqual([200, "true", first.body]);
    // Reused with other quantities, fewer or more features, or as a one-feature request: 409.
    for (const body of [
      { request_id: id, quantities: { api_call: 1, tokens: 1533 } },
      { request_id: id, quantities: { api_call: 1, tokens: 1532, seats: 1 } },
      { request_id: id, quantities: { tokens: 1532 } },
      { request_id: id, metric: "api_call", quantity: 1 },
    ]) {
      const conflict = await json(await c.record(body));
      expect([conflict.status, conflict.body.error.code]).toEqual([409, "IDEMPOTENCY_CONFLICT"]);
    }
    // …and the other way round: a one-feature request_id reused for several.
    const single = rid();
    expect((await c.record({ request_id: single, metric: "api_call", quantity: 1 })).status).toBe(200);
    expect((await json(await c.record({ request_id: single, quantities: { api_call: 1, tokens: 1 } }))).status).toBe(409);
    // quantities with one feature is that feature's one-feature request.
    const alone = await json(await c.record({ request_id: single, quantities: { api_call: 1 } }));
    expect([alone.status, alone.replayed, alone.body.data.features]).toEqual([
      200,
      "true",
      { api_call: { quantity: 1, used: 2, remaining: 49_998, included: 50_000, admittedAs: { included: 1, credits: 0, overage: 0 } } },
    ]);

    expect(await countsByMetric(orgId)).toEqual({ api_call: { used: 2, ledger: 2, rows: 2 }, tokens: { used: 1532, ledger: 1532, rows: 1 } });
    const parts = await sql<
      { metric: string; part: number }[]
    >`select metric, part from usage_events where org_id = ${orgId} and request_id = ${id} order by part`;
    expect([...parts]).toEqual([
      { metric: "api_call", part: 1 },
      { metric: "tokens", part: 2 },
    ]);
  });

  test("denied whole: the 429 names the exhausted feature and nothing of the request is counted", async () => {
    const { orgId, key } = await orgWithKey();
    await setUnits(orgId, { api_call: 10, tokens: 100 });
    const c = api(a.url, key);
    expect((await c.record({ request_id: rid(), quantities: { api_call: 1, tokens: 90 } })).status).toBe(200);
    const deniedId = rid();
    const denied = await json(await c.record({ request_id: deniedId, quantities: { api_call: 1, tokens: 20 } }));
    expect([denied.status, denied.body.error.code]).toEqual([429, "QUOTA_EXCEEDED"]);
    expect(denied.body.error.details).toMatchObject({ metric: "tokens", used: 90, included: 100 });
    expect(await countsByMetric(orgId)).toEqual({ api_call: { used: 1, ledger: 1, rows: 1 }, tokens: { used: 90, ledger: 90, rows: 1 } });
    // A denied request_id is not burned: after more room, the same request is admitted.
    await setUnits(orgId, { tokens: 200 });
    const later = await json(await c.record({ request_id: deniedId, quantities: { api_call: 1, tokens: 20 } }));
    expect([later.status, later.body.data.features.tokens.used]).toEqual([200, 110]);
  });

  test("two app processes: 300 concurrent records where tokens run out first admit exactly what fits, for both features", async () => {
    const { orgId, key } = await orgWithKey();
    // 120 requests' worth of tokens, room for all 300 in api_call.
    await setUnits(orgId, { api_call: 1000, tokens: 7 * 120 });
    const clients = [api(a.url, key), api(b.url, key)];
    const responses = await Promise.all(
      Array.from({ length: 300 }, (_, i) => clients[i % 2].record({ request_id: rid(), quantities: { api_call: 1, tokens: 7 } })),
    );
    const answers = await Promise.all(responses.map(json));
    const statuses: Record<number, number> = {};
    for (const r of answers) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    expect(statuses).toEqual({ 200: 120, 429: 180 });
    expect(new Set(answers.filter((r) => r.status === 429).map((r) => r.body.error.details.metric))).toEqual(new Set(["tokens"]));
    // Every admission saw its own state: distinct running totals, in step for both features.
    const admitted = answers.filter((r) => r.status === 200).map((r) => r.body.data.features);
    expect(new Set(admitted.map((f) => f.api_call.used)).size).toBe(120);
    for (const f of admitted) expect(f.tokens.used).toBe(7 * f.api_call.used);
    expect(await countsByMetric(orgId)).toEqual({
      api_call: { used: 120, ledger: 120, rows: 120 },
      tokens: { used: 840, ledger: 840, rows: 120 },
    });
    const hourly = await sql<{ metric: string; n: number }[]>`
      select metric, sum(quantity)::int8 as n from usage_hourly where org_id = ${orgId} group by metric order by metric`;
    expect([...hourly]).toEqual([
      { metric: "api_call", n: 120 },
      { metric: "tokens", n: 840 },
    ]);
  });

  test("concurrent repeats of one multi-feature request, mixed with one-feature traffic, count once and answer one body", async () => {
    const { orgId, key } = await orgWithKey();
    const id = rid();
    const repeats = Array.from({ length: 100 }, (_, i) => api(i % 2 ? a.url : b.url, key).record({ request_id: id, quantities: { api_call: 2, tokens: 50 } }));
    const singles = Array.from({ length: 100 }, (_, i) => api(i % 2 ? a.url : b.url, key).record({ request_id: rid(), metric: "tokens", quantity: 3 }));
    const [repeated, single] = await Promise.all([Promise.all(repeats), Promise.all(singles)]);
    expect(repeated.every((r) => r.status === 200) && single.every((r) => r.status === 200)).toBe(true);
    const bodies = await Promise.all(repeated.map((r) => r.text()));
    // One admission, the rest replays of it, byte for byte.
    expect(new Set(bodies).size).toBe(1);
    expect(repeated.filter((r) => r.headers.get("idempotent-replayed") === "true").length).toBe(99);
    expect(await countsByMetric(orgId)).toEqual({ api_call: { used: 2, ledger: 2, rows: 1 }, tokens: { used: 350, ledger: 350, rows: 101 } });
  });
});

// Last: these publish catalog versions (the file's database keeps them).
describe("what the catalog and the plan allow", () => {
  test("a feature the catalog does not meter is 400 VALIDATION_FAILED and changes nothing", async () => {
    const { orgId, key } = await orgWithKey();
    const c = api(a.url, key);
    for (const r of [
      await c.quota("?metric=widgets"),
      await c.quota("?metric=sso"), // a feature of the catalog, but not a metered one
      await c.record({ request_id: rid(), metric: "widgets" }),
      await c.record({ request_id: rid(), quantities: { api_call: 1, widgets: 3 } }),
      await c.record({ request_id: rid(), quantities: { seats: 1 } }),
    ]) {
      const answer = await json(r);
      expect([answer.status, answer.body.error.code]).toEqual([400, "VALIDATION_FAILED"]);
    }
    // The unknown feature is named where the body named it, one feature or several.
    for (const [quantities, path] of [
      [{ widgets: 3 }, "quantities.widgets"],
      [{ api_call: 1, widgets: 3 }, "quantities.widgets"],
    ] as const) {
      const answer = await json(await c.record({ request_id: rid(), quantities }));
      expect(answer.body.error.details.issues).toEqual([{ path, message: "not a metered feature of the catalog" }]);
    }
    // Not even an empty counter for the parts that were known.
    expect(await countsByMetric(orgId)).toEqual({});
    const [ledger] = await sql<{ n: number }[]>`select count(*)::int as n from usage_events where org_id = ${orgId}`;
    expect(ledger.n).toBe(0);
  });

  test("bad shapes of quantities are 400: empty, with metric, zero, too many features", async () => {
    const { key } = await orgWithKey();
    const c = api(a.url, key);
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`f${i}`, 1]));
    for (const body of [
      { request_id: rid(), quantities: {} },
      { request_id: rid(), quantities: { api_call: 1, tokens: 2 }, metric: "api_call" },
      { request_id: rid(), quantities: { api_call: 1, tokens: 2 }, quantity: 1 },
      { request_id: rid(), quantities: { api_call: 0, tokens: 2 } },
      { request_id: rid(), quantities: { api_call: 1, Tokens: 2 } },
      { request_id: rid(), quantities: many },
    ]) {
      const answer = await json(await c.record(body));
      expect([answer.status, answer.body.error.code]).toEqual([400, "VALIDATION_FAILED"]);
    }
  });

  test("a metered feature the org's plan does not include is 403 FEATURE_NOT_IN_PLAN, whole request refused", async () => {
    const current = (await currentCatalog())!;
    const content = structuredClone(current.content) as Catalog;
    content.plans.meter_only = { name: "Meter only", currency: "usd", prices: { month: 900 }, features: { api_call: { included: 50 } } };
    await publishCatalog({ content, source: "test" });
    await refreshCatalog();
    const { orgId, key } = await orgWithKey({ plan: null });
    await setSubscriptionMirror({ orgId, planCode: "meter_only" });
    const c = api(b.url, key);
    const quota = await json(await c.quota("?metric=tokens"));
    expect([quota.status, quota.body.error.code, quota.body.error.details]).toEqual([403, "FEATURE_NOT_IN_PLAN", { metric: "tokens" }]);
    const one = await json(await c.record({ request_id: rid(), metric: "tokens", quantity: 5 }));
    expect([one.status, one.body.error.code]).toEqual([403, "FEATURE_NOT_IN_PLAN"]);
    const both = await json(await c.record({ request_id: rid(), quantities: { api_call: 1, tokens: 5 } }));
    expect([both.status, both.body.error.code, both.body.error.details]).toEqual([403, "FEATURE_NOT_IN_PLAN", { metric: "tokens" }]);
    // api_call alone still works, and the refused request counted nothing of it.
    expect((await json(await c.record({ request_id: rid() }))).body.data).toMatchObject({ used: 1, included: 50 });
    expect(await countsByMetric(orgId)).toEqual({ api_call: { used: 1, ledger: 1, rows: 1 } });
  });

  test("a period's first counter takes the units of the org's own plan version, not the current catalog's", async () => {
    const { orgId, key } = await orgWithKey();
    const current = (await currentCatalog())!;
    const [sold] = await sql<{ plan_version: number }[]>`
      select plan_version from catalog_version_plans where catalog_version = ${current.version} and plan_code = 'starter'`;
    await sql`update subscriptions set plan_version = ${sold.plan_version} where org_id = ${orgId}`;
    const grandfathered = structuredClone(current.content) as Catalog;
    const was = (grandfathered.plans.starter.features.tokens as { included: number }).included;
    grandfathered.plans.starter.features.tokens = { included: was + 777 };
    grandfathered.plans.starter.features.api_call = { included: 321 };
    expect((await publishCatalog({ content: grandfathered, source: "test" })).published).toBe(true);
    const [units] = await sql<{ included: number }[]>`select included from plan_units where plan_code = 'starter' and metric = 'tokens'`;
    expect(units.included).toBe(was + 777);

    const c = api(a.url, key);
    // Before the counter exists (the quota read) and once record_usage_parts has made it.
    expect((await json(await c.quota("?metric=tokens"))).body.data.included).toBe(was);
    const both = await json(await c.record({ request_id: rid(), quantities: { api_call: 1, tokens: 10 } }));
    expect(both.body.data.features.tokens.included).toBe(was);
    expect(both.body.data.features.api_call.included).toBe(50_000);
    // A new subscriber (no version yet) gets the current terms.
    const fresh = await orgWithKey();
    expect((await json(await api(a.url, fresh.key).record({ request_id: rid(), metric: "tokens" }))).body.data.included).toBe(was + 777);
  });
});
