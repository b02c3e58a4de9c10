// The billing events, emitted where those things happen: invoice paid or failed (webhook
// convergence), plan change applied, downgrade scheduled and canceled — through the real app,
// the real worker and the local Stripe, each once however many webhooks converge it.
import { describe, expect, test } from "bun:test";
import { billingSettled, newOrg, signIn, startBillingSystem, until } from "../../../test/billing";
import { advanceOrgClock, subscribeThroughStripe } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";

const system = startBillingSystem();

const eventsOf = (orgId: string) =>
  sql<{ type: string; data: Record<string, unknown> }[]>`
    select type, data from events where org_id = ${orgId} and type like any(array['invoice.%', 'subscription.%']) order by created_at, id`;

describe("billing events", () => {
  test("subscribe, upgrade, schedule and cancel a downgrade: one event for each, with typed data", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "growth");
    await until(async () => (await eventsOf(orgId)).some((e) => e.type === "invoice.paid"));
    const cookie = await signIn(system.app, orgId);
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${system.app.url}/api/v1/billing/${path}`, {
        method,
        headers: { cookie, origin: system.app.url, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect((await call("POST", "upgrade", { planCode: "pro" })).status).toBe(200);
    expect((await call("POST", "downgrade", { planCode: "growth" })).status).toBe(200);
    expect((await call("DELETE", "downgrade")).status).toBe(200);
    // Let the webhooks of those changes converge: they must not emit the same facts again.
    await until(async () => (await eventsOf(orgId)).filter((e) => e.type === "invoice.paid").length === 2, 15_000);
    await billingSettled(system);
    const all = await eventsOf(orgId);
    // The plan changes in the order they were made; the upgrade's proration invoice is paid when
    // its webhook converges, which may come before or after the later changes.
    const paid = all.filter((e) => e.type === "invoice.paid");
    const events = all.filter((e) => e.type !== "invoice.paid");
    expect(all[0].type).toBe("invoice.paid");
    expect(paid).toHaveLength(2);
    expect(events.map((e) => e.type)).toEqual(["subscription.updated", "subscription.downgrade_scheduled", "subscription.downgrade_canceled"]);
    expect(paid[0].data).toMatchObject({ amountPaid: 9900, currency: "usd" });
    expect(events[0].data).toMatchObject({ previousPlanCode: "growth", planCode: "pro", status: "active" });
    expect(events[1].data).toMatchObject({ planCode: "pro", toPlanCode: "growth" });
    expect(events[2].data).toMatchObject({ planCode: "pro", canceledPlanCode: "growth" });
    const audit = await sql`select action, actor from audit_log where org_id = ${orgId} and action not like 'api_key%' order by id`;
    expect(audit.map((a) => `${a.action} by ${a.actor}`)).toEqual([
      "plan.upgraded by owner@example.com",
      "downgrade.scheduled by owner@example.com",
      "downgrade.canceled by owner@example.com",
    ]);
  });

  test("a downgrade applied at renewal emits subscription.updated once, for the new period", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "growth");
    const cookie = await signIn(system.app, orgId);
    const r = await fetch(`${system.app.url}/api/v1/billing/downgrade`, {
      method: "POST",
      headers: { cookie, origin: system.app.url, "content-type": "application/json" },
      body: JSON.stringify({ planCode: "starter" }),
    });
    expect(r.status).toBe(200);
    await advanceOrgClock(orgId, "31d");
    const updated = await until(async () => {
      const e = (await eventsOf(orgId)).filter((x) => x.type === "subscription.updated");
      return e.length > 0 && e;
    });
    await billingSettled(system); // every webhook of the renewal converged: none emits it again
    expect((await eventsOf(orgId)).filter((x) => x.type === "subscription.updated").map((e) => e.data)).toEqual([
      expect.objectContaining({ previousPlanCode: "growth", planCode: "starter", status: "active" }),
    ]);
    expect(updated).toHaveLength(1);
  });

  test("a failed payment emits invoice.payment_failed, with the amount due", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter", "fails"); // attaches, then fails the charge
    const failed = await until(async () => (await eventsOf(orgId)).find((e) => e.type === "invoice.payment_failed"));
    expect(failed.data).toMatchObject({ amountDue: 2900, currency: "usd" });
  });
});
