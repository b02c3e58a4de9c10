// The billing page's spend-cap editor: it shows the cap in force, the overage so far and the auto
// top-ups, and saves the cap through the same server code as PUT /api/v1/billing/spend-cap
// (audit-logged); what does not parse is refused with VALIDATION_FAILED and changes nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../test/app";
import { signIn } from "../../test/billing";
import { orgWithKey } from "../../test/factories";
import { spendCapOf } from "../server/billing/spend-cap.server";
import { sql } from "../server/platform/db.server";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app.stop();
});

describe("the billing page's spend cap", () => {
  test("shows the default cap and overage so far, saves a cap and no cap (audited), refuses bad input", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    await sql`insert into auto_top_up_settings (org_id, metric, below, packs, enabled, updated_at) values (${orgId}, 'api_call', 500, 2, true, now())`;
    const cookie = await signIn(app, orgId);
    const page = async () => (await (await fetch(`${app.url}/billing?_data=routes/_portal.billing`, { headers: { cookie } })).json()) as any;
    const shown = await page();
    expect(shown.spendCap).toEqual({ amountCents: 9900, chosen: false, overageCents: 0, currency: "usd" });
    expect(shown.autoTopUps).toMatchObject([{ metric: "api_call", below: 500, packs: 2, enabled: true }]);

    const post = (fields: Record<string, string>) =>
      fetch(`${app.url}/billing?_data=routes/_portal.billing`, {
        method: "POST",
        headers: { cookie, origin: app.url, "x-request-id": "req-cap-1" },
        body: new URLSearchParams({ intent: "spend-cap", ...fields }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

    expect(await post({ amount: "$250.50" })).toEqual({ status: 200, body: { ok: true, message: "Spend cap saved." } });
    expect(await spendCapOf(orgId)).toEqual({ amountCents: 25_050, chosen: true, overageCents: 0, currency: "usd" });
    for (const amount of ["abc", "-5", "12.345", "", "2000000"]) {
      const r = await post({ amount });
      expect([r.status, r.body.ok, r.body.code, amount]).toEqual([400, false, "VALIDATION_FAILED", amount]);
    }
    expect((await spendCapOf(orgId)).amountCents).toBe(25_050);
    expect((await post({ amount: "", noCap: "on" })).body).toEqual({ ok: true, message: "Spend cap removed: all overage is billed." });
    expect((await page()).spendCap).toMatchObject({ amountCents: null, chosen: true });
    const audit = await sql`select actor, request_id, details from audit_log where org_id = ${orgId} and action = 'spend_cap.updated' order by id`;
    expect(audit.map((a) => [a.actor, a.request_id, a.details])).toEqual([
      ["owner@example.com", "req-cap-1", { amountCents: 25_050, previous: "default" }],
      ["owner@example.com", "req-cap-1", { amountCents: null, previous: 25_050 }],
    ]);
  }, 30_000);
});
