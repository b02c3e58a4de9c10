// The quota check's two reads give one answer: period_counter_of (most orgs: pinned to a plan
// version, never granted credits, the spend cap deciding nothing) and quota_of (the rest), on the
// real Postgres. What the check answers per plan and feature is in features.test.ts and
// overage.test.ts; this file holds the two reads equal.
import { beforeAll, describe, expect, test } from "bun:test";
import { orgWithKey, pinToPlanVersion as pin, rid, setSubscriptionMirror } from "../../../test/factories";
import { currentCatalog, publishCatalog } from "../billing/catalog.server";
import { syncPlanCatalog } from "../billing/plans.server";
import type { Catalog } from "../domain/catalog.server";
import { sql } from "../platform/db.server";
import { FeatureNotInPlan, SubscriptionInactive } from "../platform/errors.server";
import { clearQuotaGrants, type QuotaSummary, quotaChecksReadFully, quotaFor, recordUsageBody } from "./engine.server";

beforeAll(async () => {
  await syncPlanCatalog();
});

/** The check's answer, or the error it threw. */
const check = (orgId: string, metric: string): Promise<QuotaSummary | unknown> =>
  quotaFor(orgId, metric).then(
    (summary) => summary,
    (e: unknown) => e,
  );

/**
 * The org's check read both ways, by a process that has kept no grants: unpinned (only quota_of
 * answers that), then pinned; and whether the pinned check was answered by period_counter_of alone.
 */
async function bothWays(orgId: string, metric: string) {
  await pin(orgId, false);
  clearQuotaGrants();
  const before = quotaChecksReadFully();
  const full = await check(orgId, metric);
  expect(quotaChecksReadFully()).toBe(before + 1);
  await pin(orgId);
  clearQuotaGrants();
  const lean = await check(orgId, metric);
  return { full, lean, leanAnswered: quotaChecksReadFully() === before + 1 };
}

describe("the quota check's lean read", () => {
  for (const plan of ["trial", "starter", "growth", "pro"] as const) {
    test(`${plan}: period_counter_of answers a pinned org as quota_of does, before and after usage`, async () => {
      const { orgId } = await orgWithKey({ plan });
      for (const metric of ["api_call", "tokens"]) {
        const fresh = await bothWays(orgId, metric);
        expect(fresh.leanAnswered).toBe(true);
        expect(fresh.lean).toEqual(fresh.full);
        expect(fresh.lean).toMatchObject({ metric, used: 0, allow: true, planCode: plan });
      }
      await recordUsageBody(orgId, { request_id: rid(), quantities: { api_call: 3, tokens: 1532 } });
      for (const [metric, used] of [
        ["api_call", 3],
        ["tokens", 1532],
      ] as const) {
        const after = await bothWays(orgId, metric);
        expect(after.leanAnswered).toBe(true);
        expect(after.lean).toEqual(after.full);
        expect(after.lean).toMatchObject({ used, allow: true });
      }
    });
  }

  test("a yearly subscriber: no overage on its allowance month, read alone", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    await sql`update subscriptions set billing_interval = 'year' where org_id = ${orgId}`;
    const fresh = await bothWays(orgId, "api_call");
    expect(fresh.leanAnswered).toBe(true);
    expect(fresh.lean).toEqual(fresh.full);
    expect(fresh.lean).toMatchObject({ included: 250_000, overage: null });
  });

  test("a full quota with no overage: denied by the lean read alone, as quota_of denies it", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    await recordUsageBody(orgId, { request_id: rid(), metric: "api_call", quantity: 1 });
    await sql`update usage_counters set used = included where org_id = ${orgId}`;
    const full = await bothWays(orgId, "api_call");
    expect(full.leanAnswered).toBe(true);
    expect(full.lean).toEqual(full.full);
    expect(full.lean).toMatchObject({ remaining: 0, allow: false, overage: null });
  });

  test("past the included units of a metric that sells overage, the spend cap decides allow: quota_of answers", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    await recordUsageBody(orgId, { request_id: rid(), metric: "api_call", quantity: 1 });
    // Its included units spent; 50 ¢ a call, so that one unit's charge does not round to nothing.
    await sql`update usage_counters set used = included, overage_price_cents = 50, overage_per = 1 where org_id = ${orgId}`;
    const open = await bothWays(orgId, "api_call");
    expect(open.leanAnswered).toBe(false);
    expect(open.lean).toEqual(open.full);
    expect(open.lean).toMatchObject({ remaining: 0, allow: true, overage: { priceCents: 50, per: 1, unitsSoFar: 0 } });
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, 0)`;
    const capped = await bothWays(orgId, "api_call");
    expect(capped.leanAnswered).toBe(false);
    expect(capped.lean).toMatchObject({ remaining: 0, allow: false });
  });

  test("credits: quota_of answers, with the credits left", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    await sql`insert into credit_grants (id, org_id, metric, units, remaining, source, source_id, expires_at)
              values (${`cg_${orgId}`}, ${orgId}, 'api_call', 10, 10, 'admin', ${`cg_${orgId}`}, now() + interval '30 days')`;
    const both = await bothWays(orgId, "api_call");
    expect(both.leanAnswered).toBe(false);
    expect(both.lean).toEqual(both.full);
    expect(both.lean).toMatchObject({ remaining: 50_010, credits: { remaining: 10, usedThisPeriod: 0 } });
  });

  test("a metric the plan does not grant, or the catalog does not meter: quota_of names which", async () => {
    const { orgId } = await orgWithKey({ plan: "pro" });
    await pin(orgId);
    const unknown = await check(orgId, "storage_gb");
    expect(unknown).toMatchObject({ code: "VALIDATION_FAILED" });
    const next = structuredClone((await currentCatalog())!.content) as Catalog;
    next.features.images = { type: "metered", unit: "image" };
    next.plans.growth.features.images = { included: 10 };
    expect((await publishCatalog({ content: next, source: "test" })).published).toBe(true);
    const notInPlan = await bothWays(orgId, "images");
    expect(notInPlan.leanAnswered).toBe(false);
    expect(notInPlan.lean).toBeInstanceOf(FeatureNotInPlan);
    expect(notInPlan.full).toBeInstanceOf(FeatureNotInPlan);
  });

  test("a plan version selling overage of a metric with no included units: the cap decides before the first use", async () => {
    const next = structuredClone((await currentCatalog())!.content) as Catalog;
    next.plans.growth.features.tokens = { included: 0, overage: { priceCents: 200, per: 100, interval: "month" } };
    await publishCatalog({ content: next, source: "test" });
    const { orgId } = await orgWithKey({ plan: "growth" });
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${orgId}, 0)`;
    const none = await bothWays(orgId, "tokens");
    expect(none.leanAnswered).toBe(false);
    expect(none.lean).toEqual(none.full);
    expect(none.lean).toMatchObject({ included: 0, remaining: 0, allow: false });
  });

  test("an org without a live subscription is SUBSCRIPTION_INACTIVE, named as quota_of names it", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    await setSubscriptionMirror({ orgId, planCode: "growth", status: "canceled" });
    await pin(orgId);
    const refused = await check(orgId, "api_call");
    expect(refused).toBeInstanceOf(SubscriptionInactive);
    expect((refused as SubscriptionInactive).details).toEqual({ status: "canceled" });
    const never = await check((await orgWithKey({ plan: null })).orgId, "api_call");
    expect((never as SubscriptionInactive).details).toEqual({ status: null });
  });
});
