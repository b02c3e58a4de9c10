// The /settings page through the real app: the time zone moves the dashboard's daily chart, the
// billing email is kept, and the change is in the org's audit log.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { signIn } from "../../../test/billing";
import { orgWithKey, setSubscriptionMirror } from "../../../test/factories";
import { sql } from "../platform/db.server";
import { orgSettingsOf, updateOrgSettings } from "./settings.server";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app?.stop();
});

const DAY = 86_400_000;

describe("org settings", () => {
  test("changing the time zone on /settings moves the dashboard's daily chart, and is audited", async () => {
    const { orgId } = await orgWithKey();
    await setSubscriptionMirror({ orgId, planCode: "starter", start: new Date(Date.now() - 3 * DAY) });
    // 7 units at 20:00 UTC two days ago: the same day in UTC, the next day at UTC+14.
    const midnight = Math.floor((Date.now() - 2 * DAY) / DAY) * DAY;
    const hour = new Date(midnight + 20 * 3_600_000);
    await sql`insert into usage_hourly (org_id, metric, hour, quantity) values (${orgId}, 'api_call', ${hour.toISOString()}::timestamptz, 7)`;
    const cookie = await signIn(app, orgId);
    const chart = async () => {
      const r = await fetch(`${app.url}/dashboard?_data=routes/_portal.dashboard`, { headers: { cookie } });
      const data = (await r.json()) as { timeZone: string; meters: { feature: string; days: { day: string; quantity: number }[] }[] };
      const days = data.meters.find((m) => m.feature === "api_call")?.days ?? [];
      return { timeZone: data.timeZone, busy: days.filter((d) => d.quantity > 0) };
    };
    const utcDay = hour.toISOString().slice(0, 10);
    const nextDay = new Date(midnight + DAY).toISOString().slice(0, 10);
    expect(await chart()).toEqual({ timeZone: "UTC", busy: [{ day: utcDay, quantity: 7 }] });

    const saved = await fetch(`${app.url}/settings?_data=routes/_portal.settings`, {
      method: "POST",
      headers: { cookie, origin: app.url, "x-request-id": "req-settings-1" },
      body: new URLSearchParams([
        ["timeZone", "Pacific/Kiritimati"],
        ["billingEmail", "Billing@Acme.test"],
        ["emails", "usage.threshold_reached"],
      ]),
    });
    expect(saved.status).toBe(200);
    expect(await chart()).toEqual({ timeZone: "Pacific/Kiritimati", busy: [{ day: nextDay, quantity: 7 }] });
    const settings = await orgSettingsOf(orgId);
    expect(settings.billingEmail).toBe("billing@acme.test");
    expect(settings.mutedEmails.sort()).toEqual([
      "auto_top_up.failed",
      "credits.low",
      "invoice.payment_failed",
      "overage.threshold_reached",
      "spend_cap.reached",
      "subscription.trial_will_end",
      "subscription.updated",
      "webhook_endpoint.disabled",
    ]);
    const [audit] = await sql`select actor, request_id, details from audit_log where org_id = ${orgId} and action = 'settings.updated'`;
    expect(audit).toMatchObject({ actor: "owner@example.com", request_id: "req-settings-1", details: { timeZone: ["UTC", "Pacific/Kiritimati"] } });
  });

  test("an unknown time zone is refused and changes nothing", async () => {
    const { orgId } = await orgWithKey();
    const cookie = await signIn(app, orgId);
    const r = await fetch(`${app.url}/settings?_data=routes/_portal.settings`, {
      method: "POST",
      headers: { cookie, origin: app.url },
      body: new URLSearchParams({ timeZone: "Mars/Olympus", billingEmail: "" }),
    });
    expect(r.status).toBe(400);
    expect((await orgSettingsOf(orgId)).timeZone).toBe("UTC");
  });

  test("bad settings input is refused with VALIDATION_FAILED, changes nothing and writes no audit entry", async () => {
    const { orgId } = await orgWithKey();
    await updateOrgSettings({ orgId, timeZone: "Asia/Tokyo", billingEmail: "billing@acme.test", mutedEmails: ["invoice.paid"], actor: "t", requestId: null });
    const before = await orgSettingsOf(orgId);
    const audited = () => sql`select id from audit_log where org_id = ${orgId} and action = 'settings.updated'`;
    expect(await audited()).toHaveLength(1);
    const cookie = await signIn(app, orgId);
    const bad: [string, string][][] = [
      [
        ["timeZone", "Europe/Paris"],
        ["billingEmail", "nope"],
      ],
      [
        ["timeZone", "Europe/Paris"],
        ["billingEmail", `${"b".repeat(250)}@acme.test`],
      ],
      [
        ["timeZone", `Europe/${"P".repeat(64)}`],
        ["billingEmail", "new@acme.test"],
      ],
      [["billingEmail", "new@acme.test"]], // no time zone at all
    ];
    for (const fields of bad) {
      const r = await fetch(`${app.url}/settings?_data=routes/_portal.settings`, {
        method: "POST",
        headers: { cookie, origin: app.url },
        body: new URLSearchParams(fields),
      });
      const body = (await r.json()) as { ok: boolean; code: string };
      expect([r.status, body.ok, body.code, JSON.stringify(fields)]).toEqual([400, false, "VALIDATION_FAILED", JSON.stringify(fields)]);
    }
    expect(await orgSettingsOf(orgId)).toEqual(before);
    expect(await audited()).toHaveLength(1);
  });

  test("email types the page does not offer are ignored: only known types are ever muted", async () => {
    const { orgId } = await orgWithKey();
    const cookie = await signIn(app, orgId);
    const r = await fetch(`${app.url}/settings?_data=routes/_portal.settings`, {
      method: "POST",
      headers: { cookie, origin: app.url },
      body: new URLSearchParams([
        ["timeZone", "UTC"],
        ["billingEmail", ""],
        ["emails", "no.such_type"],
        ["emails", "x".repeat(100)],
        ["emails", "usage.threshold_reached"],
      ]),
    });
    expect(r.status).toBe(200);
    expect((await orgSettingsOf(orgId)).mutedEmails.sort()).toEqual([
      "auto_top_up.failed",
      "credits.low",
      "invoice.payment_failed",
      "overage.threshold_reached",
      "spend_cap.reached",
      "subscription.trial_will_end",
      "subscription.updated",
      "webhook_endpoint.disabled",
    ]);
  });
});
