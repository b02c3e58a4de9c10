// The alerts an org sets itself (issue 23): its percents of the included units replace 80 and 100,
// "credits below N" emits credits.low and "overage above X" emits overage.threshold_reached —
// each decided by record_usage in the admitting transaction, once per period and threshold under
// real concurrency across two app processes, delivered by signed webhook and by email through the
// real worker. Set through PUT /api/v1/alerts, audit-logged; bad input changes nothing.
import { describe, expect, test } from "bun:test";
import type { TestApp } from "../../../test/app";
import { signIn, until } from "../../../test/billing";
import { api, orgWithKey, rid } from "../../../test/factories";
import { jobsIdle } from "../../../test/jobs";
import { startMailingSystem, startWebhookReceiver } from "../../../test/notify";
import { sql } from "../platform/db.server";
import { recordUsage } from "../usage/engine.server";
import { setUsageAlert, usageAlertsOf } from "./alerts.server";

const system = startMailingSystem();

async function session(app: TestApp, orgId: string) {
  const cookie = await signIn(app, orgId);
  return (method: string, path: string, body?: unknown) =>
    fetch(`${app.url}${path}`, {
      method,
      headers: { cookie, origin: app.url, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
}

const eventsOf = (orgId: string) =>
  sql<{ id: string; type: string; data: Record<string, number | string> }[]>`
    select id, type, data from events where org_id = ${orgId} order by created_at, id`;

const flagOf = async (orgId: string) =>
  (await sql<{ custom_alerts: boolean }[]>`select custom_alerts from subscriptions where org_id = ${orgId}`)[0].custom_alerts;

const record = (orgId: string, quantity = 1) => recordUsage({ orgId, requestId: rid(), metric: "api_call", quantity }).catch((e: Error) => e);

describe("usage alerts the org sets", () => {
  test("GET answers the defaults; PUT sets one feature's, audit-logged; bad input is refused and changes nothing", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    const call = await session(system.a, orgId);
    const read = await call("GET", "/api/v1/alerts");
    expect(read.status).toBe(200);
    expect(read.body.data.alerts).toEqual([
      { metric: "api_call", percents: [80, 100], creditsBelow: null, overageAboveCents: null, custom: false },
      { metric: "tokens", percents: [80, 100], creditsBelow: null, overageAboveCents: null, custom: false },
    ]);
    expect(await flagOf(orgId)).toBe(false);

    const set = await call("PUT", "/api/v1/alerts", { metric: "api_call", percents: [100, 50], creditsBelow: 500, overageAboveCents: 2000 });
    expect(set.status).toBe(200);
    expect(set.body.data.alerts[0]).toEqual({ metric: "api_call", percents: [50, 100], creditsBelow: 500, overageAboveCents: 2000, custom: true });
    expect(await flagOf(orgId)).toBe(true);

    const bad = [
      { metric: "seats", percents: [50], creditsBelow: null, overageAboveCents: null }, // not metered
      { metric: "api_call", percents: [50, 50], creditsBelow: null, overageAboveCents: null },
      { metric: "api_call", percents: [0], creditsBelow: null, overageAboveCents: null },
      { metric: "api_call", percents: [1001], creditsBelow: null, overageAboveCents: null },
      { metric: "api_call", percents: Array.from({ length: 11 }, (_, i) => i + 1), creditsBelow: null, overageAboveCents: null },
      { metric: "api_call", percents: [50], creditsBelow: 0, overageAboveCents: null },
      { metric: "api_call", percents: [50], creditsBelow: null, overageAboveCents: -1 },
      { metric: "api_call", percents: [50] }, // the nullable fields are required
      { metric: "api_call", percents: [50], creditsBelow: null, overageAboveCents: null, extra: 1 },
    ];
    for (const body of bad) {
      const r = await call("PUT", "/api/v1/alerts", body);
      expect([r.status, r.body.ok, r.body.error?.code, JSON.stringify(body)]).toEqual([400, false, "VALIDATION_FAILED", JSON.stringify(body)]);
    }
    expect((await usageAlertsOf(orgId))[0]).toEqual({ metric: "api_call", percents: [50, 100], creditsBelow: 500, overageAboveCents: 2000, custom: true });
    const audit = await sql`select actor, target, details from audit_log where org_id = ${orgId} and action = 'usage_alerts.updated'`;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: "owner@example.com", target: "api_call", details: { percents: [50, 100], previous: "default" } });

    // Back to exactly the defaults: the row goes, and with it the org's flag (the fast path).
    await call("PUT", "/api/v1/alerts", { metric: "api_call", percents: [80, 100], creditsBelow: null, overageAboveCents: null });
    expect(await flagOf(orgId)).toBe(false);
    expect((await usageAlertsOf(orgId))[0].custom).toBe(false);
  }, 30_000);

  test("the settings page edits one feature's alerts as a list; what does not parse is refused and changes nothing", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    const cookie = await signIn(system.a, orgId);
    const post = (fields: [string, string][]) =>
      fetch(`${system.a.url}/settings?_data=routes/_portal.settings`, {
        method: "POST",
        headers: { cookie, origin: system.a.url, "x-request-id": "req-alerts-1" },
        body: new URLSearchParams([["intent", "alerts"], ...fields]),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const saved = await post([
      ["metric", "tokens"],
      ["percents", "90%, 50 75"],
      ["creditsBelow", "1000"],
      ["overageAbove", "$12.50"],
    ]);
    expect([saved.status, saved.body.ok]).toEqual([200, true]);
    const tokens = async () => (await usageAlertsOf(orgId)).find((x) => x.metric === "tokens");
    expect(await tokens()).toEqual({ metric: "tokens", percents: [50, 75, 90], creditsBelow: 1000, overageAboveCents: 1250, custom: true });
    for (const [name, value] of [
      ["percents", "50, eighty"],
      ["creditsBelow", "-3"],
      ["overageAbove", "12.345"],
    ]) {
      const fields: [string, string][] = [
        ["metric", "tokens"],
        ["percents", "80"],
        ["creditsBelow", ""],
        ["overageAbove", ""],
      ];
      const r = await post(fields.map(([n, v]) => [n, n === name ? value : v]));
      expect([r.status, r.body.code]).toEqual([400, "VALIDATION_FAILED"]);
    }
    expect((await tokens())?.percents).toEqual([50, 75, 90]);
    const page = await fetch(`${system.a.url}/settings?_data=routes/_portal.settings`, { headers: { cookie } }).then((r) => r.json() as any);
    expect(page.alerts.find((x: { metric: string }) => x.metric === "tokens").overageAboveCents).toBe(1250);
    const [audit] = await sql`select request_id from audit_log where org_id = ${orgId} and action = 'usage_alerts.updated'`;
    expect(audit.request_id).toBe("req-alerts-1");
  }, 30_000);

  test("an org's own percents replace 80 and 100 for that feature; a subscription made later keeps the flag", async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    await setUsageAlert(orgId, { metric: "api_call", percents: [30, 90], creditsBelow: null, overageAboveCents: null });
    // The subscription row replaced (a new one inserted): the trigger sets the flag from usage_alerts.
    const [row] = await sql`select * from subscriptions where org_id = ${orgId}`;
    await sql.begin(async (tx) => {
      await tx`delete from subscriptions where org_id = ${orgId}`;
      await tx`insert into subscriptions ${tx({ ...row, custom_alerts: false })}`;
    });
    expect(await flagOf(orgId)).toBe(true);
    for (let i = 0; i < 12; i++) await record(orgId);
    const events = (await eventsOf(orgId)).filter((e) => e.type === "usage.threshold_reached");
    expect(events.map((e) => [e.data.threshold, e.data.used])).toEqual([
      [30, 3],
      [90, 9],
    ]);
  });

  test("500 concurrent records through two app processes: each alert fires once, by signed webhook and by email", async () => {
    const { orgId, key } = await orgWithKey({ plan: "growth" });
    // This period's counter: 100 included units, overage at 100 cents a unit; 100 prepaid credits.
    await sql`
      insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used, overage_price_cents, overage_per)
      select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 100, 0, 100, 1
        from subscriptions where org_id = ${orgId}`;
    await sql`insert into credit_grants (id, org_id, metric, units, remaining, source, source_id, expires_at, granted_at)
              values (${`cg_alerts_${orgId}`}, ${orgId}, 'api_call', 100, 100, 'admin', ${`cg_alerts_${orgId}`}, now() + interval '365 days', now())`;
    // A cap of 50 dollars: 50 overage units.
    await sql`insert into org_spend_caps (org_id, amount_cents, updated_at) values (${orgId}, 5000, now())`;

    const call = await session(system.a, orgId);
    expect((await call("PUT", "/api/v1/alerts", { metric: "api_call", percents: [50, 150], creditsBelow: 40, overageAboveCents: 1000 })).status).toBe(200);
    let secret = "";
    const receiver = startWebhookReceiver(() => secret);
    try {
      const created = await call("POST", "/api/v1/webhooks/endpoints", {
        url: receiver.url,
        eventTypes: ["usage.threshold_reached", "credits.low", "overage.threshold_reached"],
      });
      expect(created.status).toBe(200);
      secret = created.body.data.secret;

      const clients = [api(system.a.url, key), api(system.b.url, key)];
      let admitted = 0;
      for (let wave = 0; wave < 20; wave++) {
        const responses = await Promise.all(Array.from({ length: 25 }, (_, i) => clients[i % 2].record({ request_id: rid(), quantity: 1 })));
        admitted += responses.filter((r) => r.status === 200).length;
      }
      // included 100, then 100 credits, then 50 overage units under the cap
      expect(admitted).toBe(250);
      const [ledger] = await sql<{ n: number; credits: number; overage: number }[]>`
        select count(*)::int as n, sum(credit_units)::int as credits, sum(overage_units)::int as overage from usage_events where org_id = ${orgId}`;
      expect(ledger).toEqual({ n: 250, credits: 100, overage: 50 });

      const events = await eventsOf(orgId);
      const alerts = events.filter((e) => ["usage.threshold_reached", "credits.low", "overage.threshold_reached"].includes(e.type));
      const byType = (type: string) => alerts.filter((e) => e.type === type);
      expect(byType("usage.threshold_reached").map((e) => e.data.threshold)).toEqual([50, 150]);
      // Each fired in the batch that crossed it: at or past the threshold, never before.
      for (const e of byType("usage.threshold_reached")) expect(Number(e.data.used)).toBeGreaterThanOrEqual(Number(e.data.threshold));
      expect(byType("credits.low")).toHaveLength(1);
      expect(byType("credits.low")[0].data).toMatchObject({ metric: "api_call", below: 40 });
      expect(Number(byType("credits.low")[0].data.creditsLeft)).toBeLessThan(40);
      expect(byType("overage.threshold_reached")).toHaveLength(1);
      expect(byType("overage.threshold_reached")[0].data).toMatchObject({ metric: "api_call", aboveCents: 1000, currency: "usd" });
      expect(Number(byType("overage.threshold_reached")[0].data.overageCents)).toBeGreaterThan(1000);
      expect(alerts).toHaveLength(4);

      // Delivered: one verified webhook per alert, one email per alert.
      await until(async () => receiver.received.length >= 4, 20_000);
      const mine = () => system.smtp.mails.filter((m) => m.raw.includes(`X-Metered-Org: ${orgId}`));
      await until(async () => mine().length >= 5, 20_000); // the four alerts and spend_cap.reached
      await jobsIdle(["dispatch_event", "deliver_webhook", "send_email"]);
      expect(receiver.received.every((r) => r.verified)).toBe(true);
      expect(receiver.received.map((r) => r.body.id).sort()).toEqual(alerts.map((e) => e.id).sort());
      const subjects = mine()
        .map((m) => m.subject)
        .sort();
      expect(subjects).toHaveLength(5);
      expect(subjects.filter((s) => s.includes("credits left"))).toEqual([`Test ${orgId} has fewer than 40 api_call credits left`]);
      expect(subjects.filter((s) => s.includes("overage is above"))).toEqual([`Test ${orgId}'s api_call overage is above $10.00`]);
    } finally {
      receiver.stop();
    }
  }, 60_000);

  test("requests of several features (record_usage_parts) fire the org's own percents too", async () => {
    const { orgId, key } = await orgWithKey({ included: 10 });
    await setUsageAlert(orgId, { metric: "api_call", percents: [30], creditsBelow: null, overageAboveCents: null });
    const client = api(system.a.url, key);
    for (let i = 0; i < 4; i++) expect((await client.record({ request_id: rid(), quantities: { api_call: 1, tokens: 1 } })).status).toBe(200);
    const events = (await eventsOf(orgId)).filter((e) => e.type === "usage.threshold_reached");
    expect(events.map((e) => [e.data.metric, e.data.threshold, e.data.used])).toEqual([["api_call", 30, 3]]);
  }, 30_000);

  test("an org on the defaults gets 80% and 100% and never the alerts it did not set", async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    await sql`insert into credit_grants (id, org_id, metric, units, remaining, source, source_id, expires_at, granted_at)
              values (${`cg_def_${orgId}`}, ${orgId}, 'api_call', 10, 10, 'admin', ${`cg_def_${orgId}`}, now() + interval '365 days', now())`;
    await Promise.all(Array.from({ length: 30 }, () => record(orgId)));
    const types = (await eventsOf(orgId))
      .filter((e) => e.type !== "api_key.created")
      .map((e) => (e.type === "usage.threshold_reached" ? `${e.type}:${e.data.threshold}` : e.type));
    expect(types.sort()).toEqual(["usage.threshold_reached:100", "usage.threshold_reached:80"]);
  });
});
