// /admin's catalog panel: every published catalog version (the current one first) and every plan
// version with its live subscribers, grandfathered ones on their old version, new ones on the newest.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { signIn, startStripeWithoutWebhooks } from "../../../test/billing";
import { orgWithKey } from "../../../test/factories";
import { publishCatalog } from "../billing/catalog.server";
import { refreshCatalog } from "../billing/plans.server";
import type { Catalog } from "../domain/catalog.server";
import { DEFAULT_CATALOG } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { adminOverview } from "./overview.server";

let app: TestApp;
let stopStripe: () => Promise<void>;
beforeAll(async () => {
  const local = await startStripeWithoutWebhooks();
  stopStripe = () => local.stop();
  app = await startApp({ ADMIN_EMAILS: "owner@example.com" });
});
afterAll(async () => {
  await app.stop();
  await stopStripe();
});

const subscribersOf = async () =>
  Object.fromEntries((await adminOverview()).catalog.planVersions.map((p) => [`${p.planCode} v${p.version}`, [p.monthly, p.yearly]]));

describe("/admin: catalog versions and their subscribers", () => {
  test("a pushed v2 of growth lists growth v1 with its grandfathered subscribers and v2 with the new ones; canceled ones are not counted", async () => {
    const growthV1 = [await orgWithKey({ plan: "growth" }), await orgWithKey({ plan: "growth" })];
    await orgWithKey({ plan: "starter" });
    const gone = await orgWithKey({ plan: "growth" });
    await sql`update subscriptions set status = 'canceled' where org_id = ${gone.orgId}`;
    const before = await subscribersOf();
    expect(before["growth v1"]).toEqual([2, 0]);
    expect(before["starter v1"]).toEqual([1, 0]);

    const v2 = structuredClone(DEFAULT_CATALOG as Catalog) as Catalog;
    v2.plans.growth.prices = { month: 10_900, year: 109_000 };
    const pushed = await publishCatalog({ content: v2, source: "test" });
    expect(pushed.published).toBe(true);
    await refreshCatalog();
    await orgWithKey({ plan: "growth" });

    const overview = await adminOverview();
    expect(overview.catalog.versions.map((v) => v.version)).toEqual([pushed.version, pushed.version - 1]);
    expect(overview.catalog.versions[0].plans).toMatchObject({ growth: 2, starter: 1, pro: 1, trial: 1 });
    const after = await subscribersOf();
    expect(after["growth v1"]).toEqual([2, 0]);
    expect(after["growth v2"]).toEqual([1, 0]);
    expect(after["starter v1"]).toEqual([1, 0]);
    expect(after["pro v1"]).toEqual([0, 0]);
    const growth2 = overview.catalog.planVersions.find((p) => p.planCode === "growth" && p.version === 2);
    expect(growth2).toMatchObject({ catalogVersion: pushed.version, priceMonth: 10_900, priceYear: 109_000 });
    // The grandfathered two stay on v1.
    const pinned = await sql<{ plan_version: number }[]>`select plan_version from subscriptions where org_id = any(${growthV1.map((o) => o.orgId)}::text[])`;
    expect(pinned.map((r) => r.plan_version)).toEqual([1, 1]);

    // The page shows the same, to a platform admin.
    const cookie = await signIn(app, growthV1[0].orgId);
    const page = await fetch(`${app.url}/admin`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    // Checked as booleans: a failure prints what was missing, not the whole page.
    const shown = (text: string | RegExp) => (typeof text === "string" ? html.includes(text) : text.test(html));
    expect(shown("Catalog versions")).toBe(true);
    expect(shown(`v${pushed.version} current`)).toBe(true);
    expect(shown(/data-testid="subscribers-growth-v1"[^>]*>2</)).toBe(true);
    expect(shown(/data-testid="subscribers-growth-v2"[^>]*>1</)).toBe(true);
    expect(shown("$109.00 / month, $1,090.00 / year")).toBe(true);
  });
});
