// Past the included units (issue 23), decided by record_usage on the real Postgres: the rounding
// rule of the overage charge, the order of spending (included → credits → overage), the spend
// cap and its default, the ledger and counter columns, the events, replays, and the auto top-up
// run of a crossing. The concurrent proof across two app processes is overage-concurrency.test.ts.
import { describe, expect, test } from "bun:test";
import { orgWithKey, rid, setSubscriptionMirror } from "../../../test/factories";
import { mulberry32, testSeed } from "../../../test/seeded";
import { entitlementsFor } from "../billing/entitlements.server";
import { overageChargeCents } from "../domain/overage.server";
import { cacheDel } from "../platform/cache.server";
import { sql } from "../platform/db.server";
import { AppError } from "../platform/errors.server";
import type { UsageRecord } from "./decisions.server";
import { quotaFor, recordUsage, recordUsageBody } from "./engine.server";

/** An org on `plan` whose current period's api_call counter has `included` units and, given, an overage price. */
async function orgWithCounter(input: { plan?: "starter" | "growth"; included: number; priceCents?: number | null; per?: number | null }) {
  const { orgId, key } = await orgWithKey({ plan: input.plan ?? "growth" });
  await sql`
    insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used, overage_price_cents, overage_per)
    select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), ${input.included}, 0,
           ${input.priceCents ?? null}::int, ${input.per ?? null}::int
      from subscriptions where org_id = ${orgId}`;
  return { orgId, key };
}

let grantSeq = 0;
/** A credit grant of `units` (what topup23's granting writes), expiring in `days`. */
async function grant(orgId: string, units: number, days = 365, metric = "api_call"): Promise<string> {
  const id = `cg_test_${Date.now().toString(36)}_${grantSeq++}`;
  await sql`insert into credit_grants (id, org_id, metric, units, remaining, source, source_id, expires_at, granted_at)
            values (${id}, ${orgId}, ${metric}, ${units}, ${units}, 'admin', ${id}, now() + make_interval(days => ${days}),
                    now() + make_interval(secs => ${grantSeq}))`;
  return id;
}

const record = async (orgId: string, quantity: number, requestId = rid()) =>
  (await recordUsage({ orgId, requestId, metric: "api_call", quantity })).data as UsageRecord;

async function refusalOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error("expected a refusal");
}

async function counterOf(orgId: string) {
  const [row] = await sql<{ used: number; credit_used: number; overage_used: number }[]>`
    select used, credit_used, overage_used from usage_counters where org_id = ${orgId} and metric = 'api_call'`;
  return row;
}

async function ledgerOf(orgId: string) {
  const [row] = await sql<{ quantity: number; credits: number; overage: number }[]>`
    select coalesce(sum(quantity), 0)::int8 as quantity, coalesce(sum(credit_units), 0)::int8 as credits,
           coalesce(sum(overage_units), 0)::int8 as overage
      from usage_events where org_id = ${orgId}`;
  return row;
}

const eventsOf = async (orgId: string, type: string) =>
  sql<{ data: Record<string, unknown> }[]>`select data from events where org_id = ${orgId} and type = ${type}`;

describe("the overage charge's rounding rule", () => {
  /** round_half_up(units × price / per), exactly, in integers. */
  const exact = (units: bigint, price: bigint, per: bigint) => (2n * units * price + per) / (2n * per);

  test("overage_charge_cents is round_half_up(units × price / per), and overage_units_within its exact inverse", async () => {
    const seed = testSeed();
    const rand = mulberry32(seed);
    const cases: [number, number, number][] = [
      [1, 50, 1000], // 0.05 ¢ → 0
      [10, 50, 1000], // 0.5 ¢ → 1 (half up)
      [29, 50, 1000], // 1.45 ¢ → 1
      [30, 50, 1000], // 1.5 ¢ → 2
      [250_001, 200, 1_000_000], // 50.0002 ¢ → 50
      [2_500_000, 150, 1_000_000], // 375 ¢
      [0, 40, 1000],
    ];
    for (let i = 0; i < 300; i++) cases.push([Math.floor(rand() * 10_000_000), 1 + Math.floor(rand() * 10_000), 1 + Math.floor(rand() * 1_000_000)]);
    const rows = await sql<{ units: number; price: number; per: number; charge: number; within: number }[]>`
      select given.units, given.price, given.per, overage_charge_cents(given.units, given.price, given.per) as charge,
             overage_units_within(overage_charge_cents(given.units, given.price, given.per), given.price, given.per) as within
        from unnest(${cases.map((c) => c[0])}::int8[], ${cases.map((c) => c[1])}::int[], ${cases.map((c) => c[2])}::int[])
             given(units, price, per)`;
    let passed = false;
    try {
      for (const row of rows) {
        const [units, price, per] = [BigInt(row.units), BigInt(row.price), BigInt(row.per)];
        const charge = exact(units, price, per);
        expect(BigInt(row.charge)).toBe(charge);
        // The app's copy of the rule (the quota check's `allow`) is the database's.
        expect(overageChargeCents(row.units, row.price, row.per)).toBe(row.charge);
        // within(charge) is the largest x whose charge is still `charge`: at least units, and one more goes over.
        const within = BigInt(row.within);
        expect(within >= units).toBe(true);
        expect(exact(within, price, per)).toBe(charge);
        expect(exact(within + 1n, price, per) > charge).toBe(true);
      }
      passed = true;
    } finally {
      if (!passed) console.error(`property failed with seed ${seed}: replay with TEST_SEED=${seed}`);
    }
    const [none] = await sql<{ within: number }[]>`select overage_units_within(-1, 50, 1000) as within`;
    expect(none.within).toBe(-1);
  });
});

describe("the order of spending", () => {
  test("included units, then credits (soonest expiry first), then overage; the ledger, counter and grants agree", async () => {
    const { orgId } = await orgWithCounter({ included: 10, priceCents: 50, per: 1 });
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, null)`;
    const later = await grant(orgId, 5, 300);
    const sooner = await grant(orgId, 3, 30);
    expect((await record(orgId, 8)).admittedAs).toEqual({ included: 8, credits: 0, overage: 0 });
    const second = await record(orgId, 6);
    expect([second.used, second.remaining, second.admittedAs]).toEqual([14, 0, { included: 2, credits: 4, overage: 0 }]);
    const third = await record(orgId, 5);
    expect([third.used, third.admittedAs]).toEqual([19, { included: 0, credits: 4, overage: 1 }]);
    const grants = await sql<{ id: string; remaining: number }[]>`select id, remaining from credit_grants where org_id = ${orgId} order by id`;
    expect(Object.fromEntries(grants.map((g) => [g.id, g.remaining]))).toEqual({ [later]: 0, [sooner]: 0 });
    expect(await counterOf(orgId)).toEqual({ used: 19, credit_used: 8, overage_used: 1 });
    expect(await ledgerOf(orgId)).toEqual({ quantity: 19, credits: 8, overage: 1 });
    expect((await eventsOf(orgId, "usage.overage_started")).length).toBe(1);
    await record(orgId, 2);
    expect((await eventsOf(orgId, "usage.overage_started")).length).toBe(1);
  });

  test("an expired grant is not spent; a plan without overage stops hard after its credits, with a link to buy more", async () => {
    const { orgId } = await orgWithCounter({ plan: "starter", included: 5 });
    await grant(orgId, 3);
    await sql`insert into credit_grants (id, org_id, metric, units, remaining, source, source_id, expires_at)
              values (${`cg_old_${orgId}`}, ${orgId}, 'api_call', 100, 100, 'admin', ${`cg_old_${orgId}`}, now() - interval '1 day')`;
    // 9 does not fit in 5 + 3: refused whole, nothing spent.
    const refused = await refusalOf(record(orgId, 9));
    expect(refused.code).toBe("QUOTA_EXCEEDED");
    expect(refused.details).toMatchObject({ metric: "api_call", used: 0, included: 5 });
    expect(String(refused.details.topUpUrl)).toEndWith("/billing/top-ups?metric=api_call");
    expect(await counterOf(orgId)).toEqual({ used: 0, credit_used: 0, overage_used: 0 });
    expect((await record(orgId, 8)).admittedAs).toEqual({ included: 5, credits: 3, overage: 0 });
    expect((await refusalOf(record(orgId, 1))).code).toBe("QUOTA_EXCEEDED");
    expect(await ledgerOf(orgId)).toEqual({ quantity: 8, credits: 3, overage: 0 });
    expect((await eventsOf(orgId, "usage.overage_started")).length).toBe(0);
  });

  test("a plan without credits or overage answers exactly as before, plus its split", async () => {
    const { orgId } = await orgWithCounter({ plan: "starter", included: 3 });
    const first = await record(orgId, 3);
    expect(first).toMatchObject({ used: 3, remaining: 0, included: 3, admittedAs: { included: 3, credits: 0, overage: 0 } });
    const refused = await refusalOf(record(orgId, 1));
    expect(refused.code).toBe("QUOTA_EXCEEDED");
    expect(refused.details).toMatchObject({ metric: "api_call", used: 3, included: 3 });
  });

  test("a replay answers the identical split, whatever was spent since", async () => {
    const { orgId } = await orgWithCounter({ included: 2, priceCents: 10, per: 1 });
    await grant(orgId, 1);
    const id = rid();
    const first = await recordUsage({ orgId, requestId: id, metric: "api_call", quantity: 4 });
    expect((first.data as UsageRecord).admittedAs).toEqual({ included: 2, credits: 1, overage: 1 });
    await record(orgId, 3);
    const again = await recordUsage({ orgId, requestId: id, metric: "api_call", quantity: 4 });
    expect(again.replayed).toBe(true);
    expect(again.data).toEqual(first.data);
  });
});

describe("the spend cap", () => {
  test("an overage admission that would go over the cap is refused whole with SPEND_CAP_REACHED; spend_cap.reached once", async () => {
    const { orgId } = await orgWithCounter({ included: 1, priceCents: 50, per: 1 });
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, 120)`;
    // 1 included + 2 overage (100 ¢) fits under 120 ¢; a third overage unit (150 ¢) does not.
    expect((await record(orgId, 3)).admittedAs).toEqual({ included: 1, credits: 0, overage: 2 });
    const refused = await refusalOf(record(orgId, 1));
    expect([refused.code, refused.status]).toEqual(["SPEND_CAP_REACHED", 429]);
    expect(refused.details).toMatchObject({ metric: "api_call", capCents: 120, overageCents: 100 });
    await refusalOf(record(orgId, 2));
    expect(await counterOf(orgId)).toEqual({ used: 3, credit_used: 0, overage_used: 2 });
    const reached = await eventsOf(orgId, "spend_cap.reached");
    expect(reached.map((e) => e.data)).toEqual([expect.objectContaining({ metric: "api_call", capCents: 120, overageCents: 100 })]);
    // Credits still admit past the cap: they are paid for.
    await grant(orgId, 2);
    expect((await record(orgId, 2)).admittedAs).toEqual({ included: 0, credits: 2, overage: 0 });
  });

  test("the cap counts the overage of every metered feature of the org", async () => {
    const { orgId } = await orgWithCounter({ included: 0, priceCents: 30, per: 1 });
    await sql`
      insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used, overage_price_cents, overage_per)
      select org_id, 'tokens', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 0, 0, 25, 2
        from subscriptions where org_id = ${orgId}`;
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, 100)`;
    // tokens: 5 units at 25 ¢ / 2 = 62.5 → 63 ¢; api_call then has 37 ¢: one unit (30 ¢), not two.
    await recordUsage({ orgId, requestId: rid(), metric: "tokens", quantity: 5 });
    expect((await record(orgId, 1)).admittedAs).toEqual({ included: 0, credits: 0, overage: 1 });
    const refused = await refusalOf(record(orgId, 1));
    expect(refused.details).toMatchObject({ capCents: 100, overageCents: 93 });
  });

  test("a cap of 0 sells no overage at all, not even units whose charge rounds to 0 ¢", async () => {
    // 50 ¢ per 1,000 calls: up to 9 calls round to 0 ¢, which a rounded charge under 0 ¢ let in.
    const { orgId } = await orgWithCounter({ included: 2, priceCents: 50, per: 1000 });
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, 0)`;
    expect((await refusalOf(record(orgId, 3))).code).toBe("SPEND_CAP_REACHED");
    expect((await record(orgId, 2)).admittedAs).toEqual({ included: 2, credits: 0, overage: 0 });
    const refused = await refusalOf(record(orgId, 1));
    expect(refused.details).toMatchObject({ capCents: 0, overageCents: 0 });
    const parts = await refusalOf(recordUsageBody(orgId, { request_id: rid(), quantities: { api_call: 1 } }));
    expect(parts.code).toBe("SPEND_CAP_REACHED");
    expect(await counterOf(orgId)).toEqual({ used: 2, credit_used: 0, overage_used: 0 });
    await cacheDel(`quota:${orgId}:api_call`);
    expect(await quotaFor(orgId, "api_call")).toMatchObject({ allow: false, remaining: 0 });
    expect((await entitlementsFor(orgId)).features.find((f) => f.feature === "api_call")).toMatchObject({ allow: false, remaining: 0 });
    // A cap of 1 ¢: the units whose charge stays within it (up to 29 calls: 1.45 ¢ rounds to 1 ¢).
    await sql`update org_spend_caps set amount_cents = 1 where org_id = ${orgId}`;
    expect((await record(orgId, 29)).admittedAs).toEqual({ included: 0, credits: 0, overage: 29 });
    expect((await refusalOf(record(orgId, 1))).code).toBe("SPEND_CAP_REACHED");
  });

  test("no cap chosen: the plan's monthly price; a null cap chosen explicitly: none", async () => {
    const { orgId } = await orgWithCounter({ included: 0, priceCents: 1000, per: 1 });
    // growth is 9900 ¢ a month: 9 units (9000 ¢) fit, the 10th (10000 ¢) does not.
    expect((await record(orgId, 9)).admittedAs.overage).toBe(9);
    expect((await refusalOf(record(orgId, 1))).details).toMatchObject({ capCents: 9900, overageCents: 9000 });
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, null)`;
    expect((await record(orgId, 50)).admittedAs.overage).toBe(50);
  });

  test("a counter without an overage price (a yearly plan, a plan that sells none) never admits overage", async () => {
    const { orgId } = await orgWithCounter({ included: 1, priceCents: null });
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, null)`;
    await record(orgId, 1);
    expect((await refusalOf(record(orgId, 1))).code).toBe("QUOTA_EXCEEDED");
  });
});

describe("auto top-up", () => {
  test("200 concurrent records crossing the threshold make exactly one run and one job", async () => {
    const { orgId } = await orgWithCounter({ included: 0, priceCents: null });
    await grant(orgId, 300);
    await sql`insert into auto_top_up_settings (org_id, metric, below, packs) values (${orgId}, 'api_call', 250, 2)`;
    const answers = await Promise.allSettled(Array.from({ length: 200 }, () => record(orgId, 1)));
    expect(answers.every((a) => a.status === "fulfilled")).toBe(true);
    const runs = await sql<{ id: string; packs: number; status: string }[]>`select id, packs, status from auto_top_up_runs where org_id = ${orgId}`;
    expect(runs.map((r) => [r.packs, r.status])).toEqual([[2, "pending"]]);
    const jobs = await sql<{ key: string; payload: { runId: string } }[]>`
      select job.key, job.payload from graphile_worker._private_jobs job
        join graphile_worker._private_tasks task on task.id = job.task_id
       where task.identifier = 'auto_top_up' and job.key = ${runs[0].id}`;
    expect([...jobs]).toEqual([{ key: runs[0].id, payload: { runId: runs[0].id } }]);
    // Still below the threshold: spending more is no new crossing.
    await record(orgId, 10);
    expect((await sql`select 1 from auto_top_up_runs where org_id = ${orgId}`).length).toBe(1);
    // The credits the run bought (a newer grant) lift it above; the next crossing is a new run.
    await grant(orgId, 200);
    await record(orgId, 100);
    expect((await sql`select 1 from auto_top_up_runs where org_id = ${orgId}`).length).toBe(2);
  });

  test("a disabled setting, or credits already below the threshold, make no run", async () => {
    const { orgId } = await orgWithCounter({ included: 0, priceCents: null });
    await grant(orgId, 100);
    await sql`insert into auto_top_up_settings (org_id, metric, below, packs, enabled) values (${orgId}, 'api_call', 50, 1, false)`;
    await record(orgId, 60);
    await sql`update auto_top_up_settings set enabled = true where org_id = ${orgId}`;
    await record(orgId, 10);
    expect((await sql`select 1 from auto_top_up_runs where org_id = ${orgId}`).length).toBe(0);
  });
});

describe("the quota check and the entitlements", () => {
  test("remaining counts the credits; allow follows the policy: true on overage under the cap, false once the cap is reached", async () => {
    const { orgId } = await orgWithCounter({ included: 4, priceCents: 50, per: 1 });
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, 100)`;
    await grant(orgId, 3);
    await record(orgId, 2);
    const metered = async () => (await entitlementsFor(orgId)).features.find((f) => f.feature === "api_call");
    expect(await quotaFor(orgId, "api_call")).toMatchObject({
      allow: true,
      remaining: 5,
      used: 2,
      credits: { remaining: 3, usedThisPeriod: 0 },
      overage: { priceCents: 50, per: 1, unitsSoFar: 0, chargeCents: 0 },
    });
    // 2 included + 3 credits + 1 overage (50 ¢ of 100): no remaining, but one more overage unit fits.
    await record(orgId, 6);
    await cacheDel(`quota:${orgId}:api_call`);
    expect(await quotaFor(orgId, "api_call")).toMatchObject({
      allow: true,
      remaining: 0,
      used: 8,
      credits: { remaining: 0, usedThisPeriod: 3 },
      overage: { unitsSoFar: 1, chargeCents: 50 },
    });
    expect(await metered()).toMatchObject({
      remaining: 0,
      allow: true,
      credits: { remaining: 0, usedThisPeriod: 3 },
      overage: { priceCents: 50, per: 1, unitsSoFar: 1, chargeCents: 50 },
    });
    await record(orgId, 1);
    await cacheDel(`quota:${orgId}:api_call`);
    expect(await quotaFor(orgId, "api_call")).toMatchObject({ allow: false, remaining: 0, overage: { unitsSoFar: 2, chargeCents: 100 } });
    expect(await metered()).toMatchObject({ allow: false, remaining: 0 });
  });

  test("a plan without overage answers overage null, and its remaining is the included units left plus credits", async () => {
    const { orgId } = await orgWithCounter({ plan: "starter", included: 4 });
    await grant(orgId, 2);
    expect(await quotaFor(orgId, "api_call")).toMatchObject({ allow: true, remaining: 6, credits: { remaining: 2, usedThisPeriod: 0 }, overage: null });
    expect((await entitlementsFor(orgId)).features.find((f) => f.feature === "api_call")).toMatchObject({ remaining: 6, overage: null });
  });

  test("credits are looked for once the org was ever granted some: the first grant marks it, the mirror keeps the mark", async () => {
    const hasCredits = async (orgId: string) =>
      (await sql<{ has_credits: boolean }[]>`select has_credits from subscriptions where org_id = ${orgId}`)[0]?.has_credits;
    const { orgId } = await orgWithCounter({ plan: "starter", included: 4 });
    expect(await hasCredits(orgId)).toBe(false);
    expect(await quotaFor(orgId, "api_call")).toMatchObject({ remaining: 4, credits: { remaining: 0 } });
    await grant(orgId, 3);
    expect(await hasCredits(orgId)).toBe(true);
    await cacheDel(`quota:${orgId}:api_call`);
    expect(await quotaFor(orgId, "api_call")).toMatchObject({ remaining: 7, credits: { remaining: 3 } });
    // Stripe's next event upserts the mirror: the mark stays.
    await setSubscriptionMirror({ orgId, planCode: "starter" });
    expect(await hasCredits(orgId)).toBe(true);
    // A subscription row made after the grant (the mirror deleted and made again) starts marked.
    await sql`delete from subscriptions where org_id = ${orgId}`;
    await setSubscriptionMirror({ orgId, planCode: "starter" });
    expect(await hasCredits(orgId)).toBe(true);
  });
});

describe("a request of several features", () => {
  test("each feature spends included, credits, overage; the overage of all its parts counts under the cap; whole or nothing", async () => {
    const { orgId } = await orgWithCounter({ included: 2, priceCents: 10, per: 1 });
    await sql`
      insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used, overage_price_cents, overage_per)
      select org_id, 'tokens', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 0, 0, 25, 2
        from subscriptions where org_id = ${orgId}`;
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, 100)`;
    await grant(orgId, 1);
    const both = (api_call: number, tokens: number, requestId = rid()) =>
      recordUsage({
        orgId,
        requestId,
        parts: [
          { metric: "api_call", quantity: api_call },
          { metric: "tokens", quantity: tokens },
        ],
      });
    type Parts = { features: Record<string, { used: number; admittedAs: Record<string, number> }> };
    // api_call: 2 included + 1 credit; tokens: 4 overage at 25 ¢ / 2 = 50 ¢.
    const id = rid();
    const first = await both(3, 4, id);
    expect((first.data as Parts).features).toMatchObject({
      api_call: { used: 3, admittedAs: { included: 2, credits: 1, overage: 0 } },
      tokens: { used: 4, admittedAs: { included: 0, credits: 0, overage: 4 } },
    });
    // api_call 2 overage (20 ¢) fits alone, but with tokens at 7 (87.5 → 88 ¢) the request is 108 ¢: refused whole, naming tokens.
    const refused = await refusalOf(both(2, 3));
    expect([refused.code, refused.details]).toEqual(["SPEND_CAP_REACHED", expect.objectContaining({ metric: "tokens", capCents: 100, overageCents: 50 })]);
    // 10 ¢ + 5 tokens (62.5 → 63 ¢) = 73 ¢: admitted.
    expect(((await both(1, 1)).data as Parts).features).toMatchObject({
      api_call: { used: 4, admittedAs: { included: 0, credits: 0, overage: 1 } },
      tokens: { used: 5, admittedAs: { included: 0, credits: 0, overage: 1 } },
    });
    const counters = await sql<{ metric: string; used: number; credit_used: number; overage_used: number }[]>`
      select metric, used, credit_used, overage_used from usage_counters where org_id = ${orgId} order by metric`;
    expect(counters.map((c) => ({ ...c }))).toEqual([
      { metric: "api_call", used: 4, credit_used: 1, overage_used: 1 },
      { metric: "tokens", used: 5, credit_used: 0, overage_used: 5 },
    ]);
    expect(await ledgerOf(orgId)).toEqual({ quantity: 9, credits: 1, overage: 6 });
    const again = await both(3, 4, id);
    expect([again.replayed, again.data]).toEqual([true, first.data]);
  });
});
