// Stigg end to end with the real SDK against the local Stigg: the catalog published as plans and
// features with the same grants; after convergence the job mirrors org and subscription with the
// import call (a stale snapshot changes nothing); the drift check finds and re-queues what
// differs; previews keep Stripe's money and lose at most the 500 ms box when Stigg is down; the
// SDK's entitlements agree with GET /api/v1/entitlements.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { StiggLocal } from "../../../stigg-emulator/index";
import { type StripeLocal, startStripeLocal } from "../../../stripe-emulator/index";
import { startApp, type TestApp } from "../../../test/app";
import { storedStripeEvent } from "../../../test/billing";
import { orgWithKey, setSubscriptionMirror } from "../../../test/factories";
import { startLocalStigg } from "../../../test/stigg";
import { stiggPublish, stiggSync } from "../../../worker/stigg-sync";
import { publishCatalog } from "../billing/catalog.server";
import { processStripeEvent } from "../billing/converge-events.server";
import { previewPlanChange } from "../billing/plan-change.server";
import { activeCatalog, syncPlanCatalog } from "../billing/plans.server";
import { checkStigg, orgSnapshotForStigg, stiggDriftCount, syncOrgToStigg } from "../billing/stigg-mirror.server";
import { subscribeWithTestCard } from "../billing/stripe.server";
import type { Catalog } from "../domain/catalog.server";
import { createOrg } from "../orgs/orgs.server";
import { db, schema, sql } from "../platform/db.server";
import { mirrorOrg, STIGG_PREVIEW_BOX_MS, sdkOptions, stiggPlanId } from "./stigg.server";

let stripe: StripeLocal;
let stigg: StiggLocal;
let app: TestApp;

beforeAll(async () => {
  await syncPlanCatalog();
  stripe = await startStripeLocal({ port: Number(process.env.STRIPE_LOCAL_PORT), databaseUrl: process.env.DATABASE_URL as string });
  stigg = await startLocalStigg();
  await stiggPublish({}, {} as never);
  app = await startApp();
}, 60_000);
afterAll(async () => {
  await app.stop();
  await stigg.stop();
  await stripe.stop();
});

async function subscribedOrg(planCode = "starter") {
  const orgId = `org_g${crypto.randomUUID().slice(0, 8)}`;
  await createOrg({ id: orgId, name: "Stigg Co", email: "owner@stigg.test" });
  const subscriptionId = await subscribeWithTestCard({ orgId, planCode });
  await processStripeEvent(await storedStripeEvent("customer.subscription.created", { id: subscriptionId }));
  return { orgId, subscriptionId };
}

const planVersionOf = async (code: string) =>
  (await sql<{ v: number }[]>`select plan_version as v from catalog_version_plans where plan_code = ${code} order by catalog_version desc limit 1`)[0].v;

/** What a plan grants per the catalog, as Stigg should hold it: usage limit, unlimited, or granted. */
function grantsOf(catalog: Catalog, code: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [feature, grant] of Object.entries(catalog.plans[code].features)) {
    if (grant === true) out[feature] = "granted";
    else if (grant && typeof grant === "object" && "included" in grant) out[feature] = String(grant.included);
    else if (grant && typeof grant === "object" && "limit" in grant) out[feature] = grant.limit === null ? "unlimited" : String(grant.limit);
  }
  return out;
}
const heldGrants = (entitlements: { featureId: string; usageLimit: number | null; hasUnlimitedUsage: boolean }[]) =>
  Object.fromEntries(entitlements.map((e) => [e.featureId, e.hasUnlimitedUsage ? "unlimited" : e.usageLimit === null ? "granted" : String(e.usageLimit)]));

describe("Stigg, for real against the local Stigg", () => {
  test("a catalog push appears in Stigg as plans and features with the same grants; a new version is a new plan", async () => {
    const { catalog } = activeCatalog();
    for (const code of Object.keys(catalog.plans)) {
      const plan = await stigg.store.plan({ refId: stiggPlanId(code, await planVersionOf(code)) });
      expect(plan?.status).toBe("PUBLISHED");
      expect(heldGrants(plan?.entitlements ?? [])).toEqual(grantsOf(catalog, code));
    }
    for (const [code, f] of Object.entries(catalog.features)) {
      expect(await stigg.store.feature(code)).toMatchObject({
        featureType: f.type === "boolean" ? "BOOLEAN" : "NUMBER",
        meterType: f.type === "metered" ? "Incremental" : "None",
      });
    }
    // A push queues the publish job; the new plan version arrives with its new grant, the old one untouched.
    const before = await planVersionOf("growth");
    const edited = structuredClone(catalog) as Catalog;
    (edited.plans.growth.features.api_call as { included: number }).included = 300_000;
    const pushed = await publishCatalog({ content: edited, source: "test" });
    expect(pushed.published).toBe(true);
    const [job] = await sql`select 1 from graphile_worker.jobs where task_identifier = 'stigg_publish'`;
    expect(job).toBeTruthy();
    await syncPlanCatalog();
    await stiggPublish({}, {} as never);
    const after = await planVersionOf("growth");
    expect(after).toBe(before + 1);
    expect((await stigg.store.plan({ refId: stiggPlanId("growth", after) }))?.entitlements.find((e) => e.featureId === "api_call")?.usageLimit).toBe(300_000);
    expect((await stigg.store.plan({ refId: stiggPlanId("growth", before) }))?.entitlements.find((e) => e.featureId === "api_call")?.usageLimit).toBe(250_000);
  });

  test("the converged subscription queues the mirror; the job provisions the customer and imports the subscription with billing ids", async () => {
    const { orgId, subscriptionId } = await subscribedOrg();
    const [job] =
      await sql`select j.task_identifier, p.payload from graphile_worker.jobs j join graphile_worker._private_jobs p on p.id = j.id where j.key = ${`stigg:${orgId}`}`;
    expect(job).toMatchObject({ task_identifier: "stigg_sync", payload: { orgId } });
    await stiggSync({ orgId }, {} as never);
    const [org] = await db.select().from(schema.organisations).where(eq(schema.organisations.id, orgId));
    expect(await stigg.store.customer(orgId)).toMatchObject({ refId: orgId, name: "Stigg Co", email: "owner@stigg.test", billingId: org.stripeCustomerId });
    expect(await stigg.store.activeSubscription(orgId)).toMatchObject({
      planId: stiggPlanId("starter", await planVersionOf("starter")),
      billingId: subscriptionId,
      status: "ACTIVE",
    });
    expect(stigg.operations).not.toContain("ProvisionSubscription");
    expect(await sql`select * from stigg_drift where org_id = ${orgId}`).toHaveLength(0);
  });

  test("a stale mirror arriving after a newer one changes nothing", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    const older = await orgSnapshotForStigg(orgId);
    await setSubscriptionMirror({ orgId, planCode: "growth" });
    const newer = await orgSnapshotForStigg(orgId);
    if (!older || !newer) throw new Error("no snapshot");
    expect(newer.mirror.updatedAt.getTime()).toBeGreaterThan(older.mirror.updatedAt.getTime());
    await mirrorOrg(newer.mirror);
    const held = await stigg.store.activeSubscription(orgId);
    await mirrorOrg(older.mirror);
    expect(await stigg.store.activeSubscription(orgId)).toEqual(held);
    expect(held?.planId).toBe(stiggPlanId("growth", await planVersionOf("growth")));
  });

  test("stigg:check lists drift and re-queues the org; the job re-mirrors it; /admin's figure follows", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    await syncOrgToStigg(orgId);
    expect((await checkStigg()).drifted.map((d) => d.orgId)).not.toContain(orgId);
    // Someone changes the plan in Stigg behind the database's back.
    const snap = await orgSnapshotForStigg(orgId);
    if (!snap) throw new Error("no snapshot");
    await mirrorOrg({ ...snap.mirror, planId: stiggPlanId("pro", await planVersionOf("pro")), updatedAt: new Date() });
    const check = await checkStigg();
    const mine = check.drifted.find((d) => d.orgId === orgId);
    expect(mine?.problems.join("\n")).toContain("plan: database plan-metered-starter");
    expect(mine?.problems.join("\n")).toContain("sso: database not granted, Stigg granted");
    expect(await stiggDriftCount()).toBeGreaterThanOrEqual(1);
    const [job] = await sql`select 1 from graphile_worker.jobs where key = ${`stigg:${orgId}`}`;
    expect(job).toBeTruthy();
    await stiggSync({ orgId }, {} as never);
    expect(await sql`select * from stigg_drift where org_id = ${orgId}`).toHaveLength(0);
    expect((await checkStigg()).drifted.map((d) => d.orgId)).not.toContain(orgId);
  });

  test("the SDK's getEntitlements for an org agrees with GET /api/v1/entitlements for every feature", async () => {
    const { default: Stigg } = await import("@stigg/node-server-sdk");
    const sdk = Stigg.initialize(sdkOptions({ url: stigg.url, apiKey: stigg.apiKey }));
    for (const plan of ["starter", "growth", "pro"]) {
      const { orgId, key } = await orgWithKey({ plan });
      await syncOrgToStigg(orgId);
      const r = await fetch(`${app.url}/api/v1/entitlements`, { headers: { authorization: `Bearer ${key}` } });
      const ours = (
        (await r.json()) as { data: { features: { feature: string; type: string; included?: number; granted?: boolean; limit?: number | null }[] } }
      ).data.features;
      const theirs = new Map(
        (await sdk.getEntitlements(orgId)).map((e) => [(e.feature as { id?: string; refId?: string }).id ?? (e.feature as { refId?: string }).refId, e]),
      );
      expect(ours.length).toBeGreaterThan(0);
      for (const f of ours) {
        const e = theirs.get(f.feature) as { hasAccess: boolean; usageLimit?: number; value?: number; isUnlimited?: boolean } | undefined;
        if (f.type === "boolean") expect({ feature: f.feature, granted: !!e?.hasAccess }).toEqual({ feature: f.feature, granted: !!f.granted });
        else if (f.type === "metered") expect({ feature: f.feature, included: e?.usageLimit ?? 0 }).toEqual({ feature: f.feature, included: f.included ?? 0 });
        else expect({ feature: f.feature, limit: e ? (e.isUnlimited ? null : (e.value ?? 0)) : 0 }).toEqual({ feature: f.feature, limit: f.limit ?? null });
      }
      expect([...theirs.keys()].every((k) => ours.some((f) => f.feature === k))).toBe(true);
    }
    sdk.close();
  });

  test("previews: Stripe's money, Stigg's non-money facts; each fault adds at most the box and changes no Stripe figure; the mirror catches up", async () => {
    const { orgId } = await subscribedOrg();
    await stiggSync({ orgId }, {} as never);
    const strip = (p: Awaited<ReturnType<typeof previewPlanChange>>) => ({ ...p, prorationDate: 0, stigg: null });
    const healthy = await previewPlanChange(orgId, "growth");
    expect(healthy.source).toBe("stripe");
    expect(healthy.amountDueNow).toBeGreaterThan(0);
    expect(healthy.stigg).toEqual({ isPlanDowngrade: false, hasScheduledUpdates: false });
    const t0 = performance.now();
    await previewPlanChange(orgId, "growth");
    const base = performance.now() - t0;
    for (const fault of ["500", "503", "hang", "refused"] as const) {
      const sw = stigg.fault(fault);
      const t = performance.now();
      const p = await previewPlanChange(orgId, "growth");
      const ms = performance.now() - t;
      sw.clear();
      expect({ fault, stigg: p.stigg }).toEqual({ fault, stigg: null });
      expect(strip(p)).toEqual(strip(healthy));
      expect({ fault, extra: ms - base <= STIGG_PREVIEW_BOX_MS + 150 }).toEqual({ fault, extra: true });
    }
    // While Stigg refused, a plan change converged in the database; the check sees the drift and the job repairs it.
    const sw = stigg.fault("refused");
    await setSubscriptionMirror({ orgId, planCode: "growth" });
    await expect(stiggSync({ orgId }, {} as never)).rejects.toThrow();
    sw.clear();
    const check = await checkStigg();
    expect(check.drifted.find((d) => d.orgId === orgId)?.problems.join("\n")).toContain("plan: database plan-metered-growth");
    await stiggSync({ orgId }, {} as never);
    expect((await checkStigg()).drifted.map((d) => d.orgId)).not.toContain(orgId);
  }, 60_000);
});
