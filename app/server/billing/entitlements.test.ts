// The entitlements read's two statements give one answer: period_usage_of (most orgs: pinned to a
// plan version, never granted credits, the spend cap deciding nothing) and entitlement_usage_of
// (the rest), on the real Postgres; and one feature read alone (period_counter_of, its counter
// only) as the whole read answers it. The API's shape per plan and the catalog push across app
// processes are in catalog.test.ts.
import { beforeAll, describe, expect, test } from "bun:test";
import { until } from "../../../test/billing";
import { orgWithKey, pinToPlanVersion as pin, rid, setSubscriptionMirror } from "../../../test/factories";
import type { Catalog } from "../domain/catalog.server";
import { sql } from "../platform/db.server";
import { SubscriptionInactive } from "../platform/errors.server";
import { recordUsage, recordUsageBody } from "../usage/engine.server";
import { currentCatalog, publishCatalog } from "./catalog.server";
import { clearEntitlementsCache, type Entitlement, type Entitlements, entitlementFor, entitlementsFor, orgsOnFullRead } from "./entitlements.server";
import { syncPlanCatalog } from "./plans.server";

beforeAll(async () => {
  await syncPlanCatalog();
});

/**
 * The org's entitlements read both ways, each by a process that has kept nothing: unpinned (only
 * entitlement_usage_of answers that), then pinned; and whether the pinned read was answered by
 * period_usage_of alone.
 */
async function bothWays(orgId: string): Promise<{ full: Entitlements; lean: Entitlements; leanAnswered: boolean }> {
  await pin(orgId, false);
  clearEntitlementsCache();
  const full = await entitlementsFor(orgId);
  expect(orgsOnFullRead()).toBe(1);
  expect(await oneByOne(orgId, full)).toEqual(full.features);
  await pin(orgId);
  clearEntitlementsCache();
  const lean = await entitlementsFor(orgId);
  const leanAnswered = orgsOnFullRead() === 0;
  expect(await oneByOne(orgId, lean)).toEqual(lean.features);
  return { full, lean, leanAnswered };
}

/** Each feature read alone (GET /api/v1/entitlements/{feature}: its counter only), each by a process that has kept nothing. */
async function oneByOne(orgId: string, all: Entitlements) {
  const alone = [];
  for (const f of all.features) {
    clearEntitlementsCache();
    alone.push(await entitlementFor(orgId, f.feature));
  }
  return alone;
}

const feature = (e: Entitlements, name: string) => e.features.find((f) => f.feature === name) as Record<string, unknown>;

describe("the entitlements read", () => {
  for (const plan of ["trial", "starter", "growth", "pro"] as const) {
    test(`${plan}: period_usage_of answers a pinned org as entitlement_usage_of does`, async () => {
      const { orgId } = await orgWithKey({ plan });
      const fresh = await bothWays(orgId);
      expect(fresh.leanAnswered).toBe(true);
      expect(fresh.lean).toEqual(fresh.full);
      // With usage of every metered feature the plan grants (a counter each).
      const quantities: Record<string, number> = plan === "starter" ? { api_call: 3 } : { api_call: 3, tokens: 1532 };
      await recordUsageBody(orgId, { request_id: rid(), quantities });
      const used = await bothWays(orgId);
      expect(used.leanAnswered).toBe(true);
      expect(used.lean).toEqual(used.full);
      expect(feature(used.lean, "api_call")).toMatchObject({ used: 3 });
    });
  }

  test("past the included units of a feature that sells overage, the spend cap decides allow: entitlement_usage_of answers", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    await pin(orgId);
    await recordUsage({ orgId, requestId: rid(), metric: "api_call", quantity: 1 });
    // Its included units spent; 50 ¢ a call (the counter's copy of the price), so that one unit's charge does not round to nothing.
    await sql`update usage_counters set used = included, overage_price_cents = 50, overage_per = 1 where org_id = ${orgId} and metric = 'api_call'`;
    // The default cap (the plan's monthly price) leaves room for overage.
    const open = await bothWays(orgId);
    expect(open.leanAnswered).toBe(false);
    expect(open.lean).toEqual(open.full);
    expect(feature(open.lean, "api_call")).toMatchObject({ remaining: 0, allow: true, overage: { priceCents: 50, per: 1, unitsSoFar: 0 } });
    // A cap of 0: not one overage unit fits.
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, 0)`;
    const capped = await bothWays(orgId);
    expect(capped.lean).toEqual(capped.full);
    expect(feature(capped.lean, "api_call")).toMatchObject({ remaining: 0, allow: false });
    // Tokens still have included units: the cap decides nothing for them.
    expect(feature(capped.lean, "tokens")).toMatchObject({ allow: true, used: 0 });
    // Read alone, tokens are answered from their own counter's read: the api_call cap is not theirs.
    clearEntitlementsCache();
    expect(await entitlementFor(orgId, "tokens")).toEqual(feature(capped.full, "tokens") as Entitlement);
    expect(orgsOnFullRead()).toBe(0);
    expect(await entitlementFor(orgId, "api_call")).toEqual(feature(capped.full, "api_call") as Entitlement);
    expect(orgsOnFullRead()).toBe(1);
  });

  test("credits: entitlement_usage_of answers, with the credits left", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    await sql`insert into credit_grants (id, org_id, metric, units, remaining, source, source_id, expires_at)
              values (${`cg_${orgId}`}, ${orgId}, 'api_call', 10, 10, 'admin', ${`cg_${orgId}`}, now() + interval '30 days')`;
    const both = await bothWays(orgId);
    expect(both.leanAnswered).toBe(false);
    expect(both.lean).toEqual(both.full);
    expect(feature(both.lean, "api_call")).toMatchObject({ remaining: 50_010, credits: { remaining: 10, usedThisPeriod: 0 } });
  });

  test("a pinned org without a live subscription is SUBSCRIPTION_INACTIVE, as the full read answers it", async () => {
    const inactive = async (orgId: string) => {
      clearEntitlementsCache();
      const refused = await entitlementsFor(orgId).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(SubscriptionInactive);
      return (refused as SubscriptionInactive).details;
    };
    const { orgId } = await orgWithKey({ plan: "growth" });
    await pin(orgId);
    await setSubscriptionMirror({ orgId, planCode: "growth", status: "canceled" });
    await pin(orgId);
    expect(await inactive(orgId)).toEqual({ status: "canceled" });
    // Never subscribed: no row at all.
    expect(await inactive((await orgWithKey({ plan: null })).orgId)).toEqual({ status: null });
  });

  // Last: it publishes catalog versions the other tests of this file do not expect.
  test("a plan that sells overage of a feature with no included units: the cap decides before the first use; a publish shows within a second", async () => {
    const next = structuredClone((await currentCatalog())!.content) as Catalog;
    // 2 ¢ a token, so that one unit's charge does not round to nothing.
    next.plans.growth.features.tokens = { included: 0, overage: { priceCents: 200, per: 100, interval: "month" } };
    expect((await publishCatalog({ content: next, source: "test" })).published).toBe(true);
    const { orgId } = await orgWithKey({ plan: "growth" });
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, 0)`;
    const none = await bothWays(orgId);
    expect(none.leanAnswered).toBe(false);
    expect(none.lean).toEqual(none.full);
    expect(feature(none.lean, "tokens")).toMatchObject({ included: 0, used: 0, remaining: 0, allow: false });
    await sql`update org_spend_caps set amount_cents = 100 where org_id = ${orgId}`;
    expect(feature((await bothWays(orgId)).lean, "tokens")).toMatchObject({ remaining: 0, allow: true });

    // This process keeps the catalog version it read: a new feature is listed within a second.
    const reader = await orgWithKey({ plan: "starter" });
    await pin(reader.orgId);
    clearEntitlementsCache();
    expect(feature(await entitlementsFor(reader.orgId), "audit_log")).toBeUndefined();
    const withAudit = structuredClone((await currentCatalog())!.content) as Catalog;
    withAudit.features.audit_log = { type: "boolean" };
    expect((await publishCatalog({ content: withAudit, source: "test" })).published).toBe(true);
    const published = Date.now();
    const seen = await until(async () => feature(await entitlementsFor(reader.orgId), "audit_log"), 5_000);
    expect(Date.now() - published).toBeLessThan(2_000);
    expect(seen).toEqual({ feature: "audit_log", type: "boolean", granted: false });
    expect(orgsOnFullRead()).toBe(0);
  });
});
