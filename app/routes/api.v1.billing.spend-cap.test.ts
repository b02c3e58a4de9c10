// The spend cap and auto top-up routes: the default cap, setting and clearing it, validation
// (bad input changes nothing), the audit log, and who may call them (a signed-in org admin; an API
// key is refused). Real app, real Postgres.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../test/app";
import { billingApi } from "../../test/billing";
import { orgWithKey } from "../../test/factories";
import { MAX_SPEND_CAP_CENTS } from "../server/api/schemas.server";
import { sql } from "../server/platform/db.server";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app.stop();
});

const auditOf = (orgId: string, action: string) =>
  sql<{ actor: string; details: Record<string, unknown> }[]>`select actor, details from audit_log where org_id = ${orgId} and action = ${action} order by id`;

describe("PUT /api/v1/billing/spend-cap", () => {
  test("a new org's cap is its plan's monthly price; an admin sets one, then none, each audit-logged", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    const call = await billingApi(app, orgId);
    expect(await call("GET", "spend-cap")).toEqual({
      status: 200,
      body: { ok: true, data: { amountCents: 9900, chosen: false, overageCents: 0, currency: "usd" } },
    });
    expect((await call("PUT", "spend-cap", { amountCents: 25_000 })).body.data).toEqual({
      amountCents: 25_000,
      chosen: true,
      overageCents: 0,
      currency: "usd",
    });
    expect((await call("PUT", "spend-cap", { amountCents: null })).body.data).toMatchObject({ amountCents: null, chosen: true });
    expect((await call("GET", "spend-cap")).body.data).toMatchObject({ amountCents: null, chosen: true });
    expect((await auditOf(orgId, "spend_cap.updated")).map((a) => [a.actor, a.details])).toEqual([
      ["owner@example.com", { amountCents: 25_000, previous: "default" }],
      ["owner@example.com", { amountCents: null, previous: 25_000 }],
    ]);
  });

  test("bad input is 400 VALIDATION_FAILED and changes nothing", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    const call = await billingApi(app, orgId);
    for (const body of [
      { amountCents: -1 },
      { amountCents: 10.5 },
      { amountCents: MAX_SPEND_CAP_CENTS + 1 },
      { amountCents: "100" },
      {},
      { amountCents: 100, currency: "eur" },
    ]) {
      const answer = await call("PUT", "spend-cap", body);
      expect([JSON.stringify(body), answer.status, answer.body.error.code]).toEqual([JSON.stringify(body), 400, "VALIDATION_FAILED"]);
    }
    expect((await sql`select 1 from org_spend_caps where org_id = ${orgId}`).length).toBe(0);
    expect((await auditOf(orgId, "spend_cap.updated")).length).toBe(0);
    // 0 is a cap: no overage at all.
    expect((await call("PUT", "spend-cap", { amountCents: 0 })).body.data).toMatchObject({ amountCents: 0, chosen: true });
  });

  test("an API key cannot read or set it", async () => {
    const { key } = await orgWithKey({ plan: "growth" });
    const put = await fetch(`${app.url}/api/v1/billing/spend-cap`, {
      method: "PUT",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ amountCents: 1 }),
    });
    expect(put.status).toBe(401);
    expect((await fetch(`${app.url}/api/v1/billing/spend-cap`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
  });
});

describe("PUT /api/v1/billing/auto-top-up", () => {
  test("sets one metric's setting with its pack, audit-logged; bad input is 400 and changes nothing", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    const call = await billingApi(app, orgId);
    expect((await call("GET", "auto-top-up")).body.data).toEqual({ settings: [] });
    for (const body of [
      { metric: "api_call", below: 0, packs: 1, enabled: true },
      { metric: "api_call", below: 10, packs: 0, enabled: true },
      { metric: "api_call", below: 10, packs: 101, enabled: true },
      { metric: "api_call", below: 10, packs: 1 },
      { metric: "seats", below: 10, packs: 1, enabled: true },
      { metric: "api_call", below: 10, packs: 1, enabled: true, extra: 1 },
    ]) {
      const answer = await call("PUT", "auto-top-up", body);
      expect([JSON.stringify(body), answer.status, answer.body.error.code]).toEqual([JSON.stringify(body), 400, "VALIDATION_FAILED"]);
    }
    expect((await sql`select 1 from auto_top_up_settings where org_id = ${orgId}`).length).toBe(0);
    const set = await call("PUT", "auto-top-up", { metric: "api_call", below: 5000, packs: 2, enabled: true });
    expect(set.status).toBe(200);
    expect(set.body.data.settings).toEqual([
      { metric: "api_call", below: 5000, packs: 2, enabled: true, packUnits: 10_000, packPriceCents: 1000, updatedAt: expect.any(String) },
    ]);
    await call("PUT", "auto-top-up", { metric: "api_call", below: 100, packs: 1, enabled: false });
    expect((await call("GET", "auto-top-up")).body.data.settings).toMatchObject([{ metric: "api_call", below: 100, packs: 1, enabled: false }]);
    expect((await auditOf(orgId, "auto_top_up.updated")).map((a) => a.details)).toEqual([
      { metric: "api_call", below: 5000, packs: 2, enabled: true },
      { metric: "api_call", below: 100, packs: 1, enabled: false },
    ]);
  });
});
