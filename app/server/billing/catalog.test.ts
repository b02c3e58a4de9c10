// The catalog in the database: versions published only on change and immutable once published,
// grandfathering (a subscription keeps the plan version it was bought on), and the entitlements
// API that reads it (every feature type on every default plan, auth, 404, inactive).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { signIn, until } from "../../../test/billing";
import { api, orgWithKey, rid, setSubscriptionMirror } from "../../../test/factories";
import { type Catalog, CatalogInvalid } from "../domain/catalog.server";
import { DEFAULT_CATALOG } from "../platform/config.server";
import { db, schema, sql } from "../platform/db.server";
import { currentCatalog, planVersionFor, publishCatalog } from "./catalog.server";
import { syncPlanCatalog } from "./plans.server";

let app: TestApp;
beforeAll(async () => {
  await syncPlanCatalog();
  app = await startApp();
});
afterAll(async () => {
  await app.stop();
});

const edited = (edit: (c: Catalog) => void): Catalog => {
  const c = structuredClone(DEFAULT_CATALOG as Catalog) as Catalog;
  edit(c);
  return c;
};
const entitlements = async (key: string, path = "") => {
  const r = await fetch(`${app.url}/api/v1/entitlements${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: r.status, body: (await r.json()) as any };
};
const soldVersions = async (catalogVersion: number) =>
  Object.fromEntries(
    (
      await sql<{ plan_code: string; plan_version: number }[]>`
      select plan_code, plan_version from catalog_version_plans where catalog_version = ${catalogVersion}`
    ).map((r) => [r.plan_code, r.plan_version]),
  );

describe("catalog versions", () => {
  test("the same content publishes once; a changed plan gets a new version, the others keep theirs", async () => {
    const first = (await currentCatalog())!;
    expect(first.source).toBe("default");
    expect(await publishCatalog({ content: DEFAULT_CATALOG, source: "test" })).toEqual({ published: false, version: first.version, changes: [] });

    const more = edited((c) => {
      c.plans.starter.features.tokens = { included: 6_000_000 };
    });
    const pushed = await publishCatalog({ content: more, source: "test" });
    expect(pushed).toMatchObject({ published: true, version: first.version + 1 });
    expect(pushed.changes).toEqual([{ path: "plans.starter.features.tokens.included", from: 5_000_000, to: 6_000_000 }]);
    expect(await publishCatalog({ content: more, source: "test" })).toMatchObject({ published: false, version: first.version + 1 });

    const before = await soldVersions(first.version);
    const after = await soldVersions(pushed.version);
    expect(after).toEqual({ ...before, starter: before.starter + 1 });
    // The hot path's copy follows the current version.
    const [units] = await sql<{ included: number }[]>`select included from plan_units where plan_code = 'starter' and metric = 'tokens'`;
    expect(units.included).toBe(6_000_000);
  });

  test("published versions are immutable", async () => {
    await expect(sql`update catalog_versions set source = 'edited'`).rejects.toThrow(/catalog_versions is immutable once published/);
    await expect(sql`delete from plan_versions`).rejects.toThrow(/plan_versions is immutable once published/);
    await expect(sql`update plan_version_features set included = 1`).rejects.toThrow(/plan_version_features is immutable/);
  });

  test("a feature's type never changes, and a file read from an older version is refused, each by path", async () => {
    const current = (await currentCatalog())!;
    const retyped = edited((c) => {
      c.features.sso = { type: "numeric" };
      c.plans.pro.features.sso = { limit: 1 };
      for (const p of ["trial", "starter", "growth"]) c.plans[p].features.sso = { limit: 0 };
    });
    const refused = await publishCatalog({ content: retyped, source: "test" }).catch((e) => e);
    expect(refused).toBeInstanceOf(CatalogInvalid);
    expect((refused as CatalogInvalid).issues.map((i) => i.path)).toEqual(["features.sso.type"]);
    const renamed = edited((c) => {
      c.plans.pro.name = "Pro+";
    });
    const stale = await publishCatalog({ content: renamed, source: "test", basedOn: current.version - 1 }).catch((e) => e);
    expect((stale as CatalogInvalid).issues.map((i) => i.path)).toEqual(["version"]);
    expect((await currentCatalog())!.version).toBe(current.version);
  });

  test("the published currency never changes: each plan and top-up in another is refused by path, nothing published", async () => {
    const current = (await currentCatalog())!;
    const euros = edited((c) => {
      for (const plan of Object.values(c.plans)) plan.currency = "eur";
      for (const topUp of Object.values(c.topUps)) topUp.currency = "eur";
    });
    const refused = await publishCatalog({ content: euros, source: "test" }).catch((e) => e);
    expect(refused).toBeInstanceOf(CatalogInvalid);
    expect((refused as CatalogInvalid).issues.map((i) => i.path).sort()).toEqual(
      ["growth", "pro", "starter", "trial"].map((p) => `plans.${p}.currency`).concat(["topUps.api_call.currency", "topUps.tokens.currency"]),
    );
    expect((refused as CatalogInvalid).issues[0].message).toContain("the published catalog sells in usd");
    expect((await currentCatalog())!.version).toBe(current.version);
  });
});

describe("grandfathering", () => {
  test("a subscriber keeps the plan version it was bought on; new subscribers get the newest", async () => {
    const old = await orgWithKey({ plan: "growth" });
    const v1 = (await entitlements(old.key)).body.data;
    const growthBefore = v1.plan.version;
    const raise = edited((c) => {
      c.plans.growth.features.seats = { limit: 12 };
      c.plans.growth.features.tokens = { included: 30_000_000 };
    });
    const current = (await currentCatalog())!;
    // Keep the earlier test's starter change, so only growth changes here.
    raise.plans.starter = current.content.plans.starter;
    expect((await publishCatalog({ content: raise, source: "test" })).published).toBe(true);

    const kept = (await entitlements(old.key)).body.data;
    expect(kept.plan).toEqual({ code: "growth", version: growthBefore, interval: "month" });
    expect(kept.features.find((f: { feature: string }) => f.feature === "seats")).toEqual({ feature: "seats", type: "numeric", limit: 10 });
    expect(kept.features.find((f: { feature: string }) => f.feature === "tokens")).toMatchObject({ included: 25_000_000 });

    const fresh = await orgWithKey({ plan: "growth" });
    const now = (await entitlements(fresh.key)).body.data;
    expect(now.plan).toEqual({ code: "growth", version: growthBefore + 1, interval: "month" });
    expect(now.features.find((f: { feature: string }) => f.feature === "seats")).toEqual({ feature: "seats", type: "numeric", limit: 12 });
    expect(now.features.find((f: { feature: string }) => f.feature === "tokens")).toMatchObject({ included: 30_000_000 });
    const [pinned] = await sql<{ plan_version: number }[]>`select plan_version from subscriptions where org_id = ${old.orgId}`;
    expect(pinned.plan_version).toBe(growthBefore);
  });

  test("convergence keeps the mirror's version on the same plan, and a new plan starts on its newest", async () => {
    const newest = async (code: string) => (await sql<{ v: number }[]>`select max(version) as v from plan_versions where plan_code = ${code}`)[0].v;
    const mirrored = { planCode: "growth", planVersion: 1 };
    expect(await planVersionFor(db, { planCode: "growth", priceId: "price_any", mirrored })).toBe(1);
    expect(await planVersionFor(db, { planCode: "pro", priceId: "price_any", mirrored })).toBe(await newest("pro"));
    expect(await planVersionFor(db, { planCode: "growth", priceId: null })).toBe(await newest("growth"));
    const rows = await db.select().from(schema.planVersions);
    expect(rows.length).toBeGreaterThan(4);
  });
});

describe("GET /api/v1/entitlements", () => {
  const table = {
    trial: { api_call: 1_000, tokens: 100_000, seats: 1, webhooks: true, sso: false, overage: null },
    starter: { api_call: 50_000, tokens: null, seats: 3, webhooks: true, sso: false, overage: null },
    pro: { api_call: 1_000_000, tokens: 100_000_000, seats: null, webhooks: true, sso: true, overage: { priceCents: 40, per: 1000 } },
  } as const;

  for (const [plan, want] of Object.entries(table)) {
    test(`${plan}: every feature as the default catalog grants it`, async () => {
      const org = await orgWithKey({ plan: plan as "trial" });
      const { status, body } = await entitlements(org.key);
      expect(status).toBe(200);
      const byFeature = Object.fromEntries(body.data.features.map((f: { feature: string }) => [f.feature, f]));
      expect(Object.keys(byFeature).sort()).toEqual(["api_call", "seats", "sso", "tokens", "webhooks"]);
      expect(byFeature.api_call).toEqual({
        feature: "api_call",
        type: "metered",
        unit: "call",
        included: want.api_call,
        used: 0,
        remaining: want.api_call,
        allow: true,
        credits: { remaining: 0, usedThisPeriod: 0 },
        overage: want.overage && { ...want.overage, unitsSoFar: 0, chargeCents: 0 },
      });
      if (want.tokens !== null) expect(byFeature.tokens).toMatchObject({ type: "metered", unit: "token", included: want.tokens, used: 0 });
      expect(byFeature.seats).toEqual({ feature: "seats", type: "numeric", limit: want.seats });
      expect(byFeature.webhooks).toEqual({ feature: "webhooks", type: "boolean", granted: want.webhooks });
      expect(byFeature.sso).toEqual({ feature: "sso", type: "boolean", granted: want.sso });
      expect(body.data.plan).toMatchObject({ code: plan, interval: "month" });
      expect(body.data.period.key).toMatch(/^\d{4}-\d{2}$/);
    });
  }

  test("api_call's used is the quota's: recorded usage shows at once", async () => {
    const org = await orgWithKey({ plan: "starter" });
    expect((await api(app.url, org.key).record({ request_id: rid(), quantity: 7 })).status).toBe(200);
    const one = await entitlements(org.key, "/api_call");
    expect(one.body.data).toEqual({
      feature: "api_call",
      type: "metered",
      unit: "call",
      included: 50_000,
      used: 7,
      remaining: 49_993,
      allow: true,
      credits: { remaining: 0, usedThisPeriod: 0 },
      overage: null,
    });
    const quota = (await (await api(app.url, org.key).quota()).json()) as any;
    expect(quota.data).toMatchObject({ used: 7, included: 50_000 });
  });

  test("one feature by name; an unknown feature is 404 NOT_FOUND", async () => {
    const org = await orgWithKey({ plan: "pro" });
    expect((await entitlements(org.key, "/sso")).body.data).toEqual({ feature: "sso", type: "boolean", granted: true });
    for (const path of ["/gold", "/SSO", "/%2e%2e", `/${"x".repeat(200)}`]) {
      const r = await entitlements(org.key, path);
      expect([path, r.status, r.body.error?.code]).toEqual([path, 404, "NOT_FOUND"]);
    }
  });

  test("with the portal session too; no credentials or a bad key is 401; no live subscription is SUBSCRIPTION_INACTIVE", async () => {
    const org = await orgWithKey({ plan: "growth" });
    const cookie = await signIn(app, org.orgId);
    const bySession = await fetch(`${app.url}/api/v1/entitlements/sso`, { headers: { cookie } });
    expect(bySession.status).toBe(200);
    expect(((await bySession.json()) as any).data).toEqual({ feature: "sso", type: "boolean", granted: false });

    const none = await fetch(`${app.url}/api/v1/entitlements`);
    expect([none.status, ((await none.json()) as any).error.code]).toEqual([401, "UNAUTHENTICATED"]);
    // A bad key is refused, even alongside a valid session: a key is never retried as a session.
    const badKey = await fetch(`${app.url}/api/v1/entitlements`, { headers: { authorization: "Bearer mk_test_nope", cookie } });
    expect([badKey.status, ((await badKey.json()) as any).error.code]).toEqual([401, "UNAUTHENTICATED"]);

    // Never subscribed, or canceled: as the quota check answers.
    const never = await entitlements((await orgWithKey({ plan: null })).key);
    expect([never.status, never.body.error.code]).toEqual([402, "SUBSCRIPTION_INACTIVE"]);
    await setSubscriptionMirror({ orgId: org.orgId, planCode: "growth", status: "canceled" });
    const canceled = await fetch(`${app.url}/api/v1/entitlements`, { headers: { cookie } });
    expect([canceled.status, ((await canceled.json()) as any).error.code]).toEqual([402, "SUBSCRIPTION_INACTIVE"]);
  });
});

// Each app process keeps what a plan version grants, keyed by catalog version, plan and plan
// version, and the current catalog version, read again once it is a second old
// (entitlements.server.ts): a pushed catalog shows in every process within about a second.
describe("entitlements after a catalog push", () => {
  test("every process answers the new catalog within a second; subscribers keep their plan version", async () => {
    const second = await startApp();
    try {
      const old = await orgWithKey({ plan: "pro" });
      // Pinned to its plan's version, as convergence pins a subscription: the read most orgs take.
      await sql`update subscriptions set plan_version = (select max(version) from plan_versions where plan_code = 'pro') where org_id = ${old.orgId}`;
      const read = async (url: string, key: string, path = "") => {
        const r = await fetch(`${url}/api/v1/entitlements${path}`, { headers: { authorization: `Bearer ${key}` } });
        return { status: r.status, body: (await r.json()) as any };
      };
      const names = (data: { features: { feature: string }[] }) => data.features.map((f) => f.feature);
      // Both processes have read (and kept) the current version's grants.
      const before = await read(app.url, old.key);
      expect(await read(second.url, old.key)).toEqual(before);
      expect(names(before.body.data)).not.toContain("audit_log");

      const current = (await currentCatalog())!;
      const next = structuredClone(current.content) as Catalog;
      next.features.audit_log = { type: "boolean" };
      for (const p of Object.keys(next.plans)) next.plans[p].features.audit_log = p === "pro";
      next.plans.pro.features.seats = { limit: 500 };
      expect((await publishCatalog({ content: next, source: "test" })).published).toBe(true);
      const published = Date.now();

      for (const url of [app.url, second.url]) {
        // The subscriber keeps its plan version: the new feature is listed, not granted; seats as bought.
        const kept = await until(async () => {
          const data = (await read(url, old.key)).body.data;
          return names(data).includes("audit_log") && data;
        }, 5_000);
        expect(Date.now() - published).toBeLessThan(2_500);
        expect(kept.plan).toEqual(before.body.data.plan);
        expect(names(kept)).toEqual([...names(before.body.data), "audit_log"].sort());
        expect(kept.features.find((f: { feature: string }) => f.feature === "audit_log")).toEqual({ feature: "audit_log", type: "boolean", granted: false });
        expect(kept.features.find((f: { feature: string }) => f.feature === "seats")).toEqual({ feature: "seats", type: "numeric", limit: null });
        expect((await read(url, old.key, "/audit_log")).body.data).toEqual({ feature: "audit_log", type: "boolean", granted: false });
      }
      // A new subscriber is on the new version, in both processes (pinned to it, as convergence pins it).
      const fresh = await orgWithKey({ plan: "pro" });
      await sql`update subscriptions set plan_version = (select max(version) from plan_versions where plan_code = 'pro') where org_id = ${fresh.orgId}`;
      for (const url of [app.url, second.url]) {
        const now = (await read(url, fresh.key)).body.data;
        expect(now.plan).toEqual({ code: "pro", version: before.body.data.plan.version + 1, interval: "month" });
        expect(now.features.find((f: { feature: string }) => f.feature === "seats")).toEqual({ feature: "seats", type: "numeric", limit: 500 });
        expect((await read(url, fresh.key, "/audit_log")).body.data).toEqual({ feature: "audit_log", type: "boolean", granted: true });
      }

      // A feature dropped from the catalog is no longer listed for a plan version that never granted it.
      const dropped = structuredClone((await currentCatalog())!.content) as Catalog;
      delete dropped.features.audit_log;
      for (const p of Object.keys(dropped.plans)) delete dropped.plans[p].features.audit_log;
      expect((await publishCatalog({ content: dropped, source: "test" })).published).toBe(true);
      for (const url of [app.url, second.url]) {
        await until(async () => !names((await read(url, old.key)).body.data).includes("audit_log"), 5_000);
        expect(names((await read(url, old.key)).body.data)).toEqual(names(before.body.data));
        expect((await read(url, old.key, "/audit_log")).status).toBe(404);
        // The new subscriber's plan version grants it: still listed, as entitlements_of lists it.
        expect((await read(url, fresh.key, "/audit_log")).body.data).toEqual({ feature: "audit_log", type: "boolean", granted: true });
      }
    } finally {
      await second.stop();
    }
  });

  test("the cached answer is entitlements_of's, feature for feature", async () => {
    const { entitlementsFor } = await import("./entitlements.server");
    for (const plan of ["trial", "starter", "growth", "pro"] as const) {
      const org = await orgWithKey({ plan });
      expect((await api(app.url, org.key).record({ request_id: rid(), quantity: 3 })).status).toBe(200);
      const rows = await sql<{ feature: string; used: number; included: number | null }[]>`
        select feature, used, included from entitlements_of(${org.orgId}, '3 days'::interval)`;
      const answer = await entitlementsFor(org.orgId);
      expect(answer.features.map((f) => f.feature)).toEqual(rows.map((r) => r.feature));
      for (const r of rows) {
        const f = answer.features.find((x) => x.feature === r.feature)!;
        if (f.type === "metered") expect([f.feature, f.used, f.included]).toEqual([r.feature, r.used, r.included ?? 0]);
      }
    }
  });
});
