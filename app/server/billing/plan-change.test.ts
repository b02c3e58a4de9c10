// Plan changes (preview, upgrade, scheduled downgrade) through the session routes, the real worker and the local Stripe, with
// test clocks placing the change mid-period and the money checked to the cent.
import { describe, expect, test } from "bun:test";
import { billingApi, billingSettled, invoicesOf, mirror, newOrg, signIn, startBillingSystem, until } from "../../../test/billing";
import { api, rid } from "../../../test/factories";
import { createApiKey } from "../auth/keys.server";
import { advanceOrgClock, subscribeThroughStripe } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";
import { ensureCustomer, stripe } from "./stripe.server";

const system = startBillingSystem();

const billing = (orgId: string) => billingApi(system.app, orgId);

async function stripeInvoiceCount(orgId: string) {
  const { customerId } = await ensureCustomer(orgId);
  return (await stripe.invoices.list({ customer: customerId, limit: 100 })).data.length;
}

async function snapshot(orgId: string) {
  return {
    mirror: await mirror(orgId),
    counters: await sql`select * from usage_counters where org_id = ${orgId} order by period_start`,
    invoices: await stripeInvoiceCount(orgId),
  };
}

describe("preview, upgrade now", () => {
  test("mid-period: the preview mutates nothing and equals, to the cent, what the upgrade invoices", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const key = await createApiKey({ orgId, name: "t" });
    await api(system.app.url, key.key).record({ request_id: rid(), quantity: 1200 });
    await advanceOrgClock(orgId, "10d"); // a third of the way into the period
    const call = await billing(orgId);
    const before = await snapshot(orgId);
    const preview = await call("POST", "preview", { planCode: "growth" });
    expect(preview.status).toBe(200);
    expect(preview.body.data).toMatchObject({
      from: "starter",
      to: "growth",
      change: "upgrade",
      effective: "now",
      currency: "usd",
      nextInvoiceAmount: 9900,
      includedUnits: 250_000,
      source: "stripe",
    });
    expect(preview.body.data.lines.map((l: any) => Math.sign(l.amount))).toEqual([-1, 1]);
    expect(preview.body.data.amountDueNow).toBe(preview.body.data.lines.reduce((s: number, l: any) => s + l.amount, 0));
    expect(await snapshot(orgId)).toEqual(before);

    const up = await call("POST", "upgrade", { planCode: "growth", prorationDate: preview.body.data.prorationDate }, { "idempotency-key": "upgrade-1" });
    expect(up.status).toBe(200);
    expect(up.body.data).toMatchObject({ planCode: "growth", status: "active", pendingPlanCode: null });
    // Units rose before the answer; usage carried over.
    expect(((await (await api(system.app.url, key.key).quota()).json()) as any).data).toMatchObject({ planCode: "growth", included: 250_000, used: 1200 });
    await until(async () => (await invoicesOf(orgId)).some((i) => i.billing_reason === "subscription_update"));
    const prorated = (await invoicesOf(orgId)).filter((i) => i.billing_reason === "subscription_update");
    expect(prorated.map((i) => [i.total, i.status])).toEqual([[preview.body.data.amountDueNow, "paid"]]);
    // The same Idempotency-Key again: the original answer, no second charge.
    const again = await call("POST", "upgrade", { planCode: "growth", prorationDate: preview.body.data.prorationDate }, { "idempotency-key": "upgrade-1" });
    expect([again.status, again.body.data]).toEqual([200, up.body.data]);
    expect(await stripeInvoiceCount(orgId)).toBe(before.invoices + 1);
    const reused = await call("POST", "upgrade", { planCode: "pro" }, { "idempotency-key": "upgrade-1" });
    expect([reused.status, reused.body.error.code]).toEqual([409, "IDEMPOTENCY_CONFLICT"]);
    // The webhook that followed converged without undoing anything.
    await billingSettled(system);
    expect((await mirror(orgId)).plan_code).toBe("growth");
  });

  test("the upgrade charges the preview's amount minutes later; a preview older than 5 minutes is refused with PREVIEW_EXPIRED", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    await advanceOrgClock(orgId, "9d");
    const call = await billing(orgId);
    const stale = await call("POST", "preview", { planCode: "pro" });
    await advanceOrgClock(orgId, "6m");
    const refused = await call("POST", "upgrade", { planCode: "pro", prorationDate: stale.body.data.prorationDate });
    expect([refused.status, refused.body.error.code]).toEqual([409, "PREVIEW_EXPIRED"]);
    const preview = await call("POST", "preview", { planCode: "pro" });
    await advanceOrgClock(orgId, "4m"); // the person reads the preview for 4 minutes
    const up = await call("POST", "upgrade", { planCode: "pro", prorationDate: preview.body.data.prorationDate });
    expect(up.status).toBe(200);
    await until(async () => (await invoicesOf(orgId)).some((i) => i.billing_reason === "subscription_update"));
    const charged = (await invoicesOf(orgId)).find((i) => i.billing_reason === "subscription_update")!;
    expect(charged.total).toBe(preview.body.data.amountDueNow);
    // Without the preview's date, the 4 minutes would have changed the amount.
    expect(charged.total).not.toBe(stale.body.data.amountDueNow);
    // The same request again (no Idempotency-Key): its original answer, nothing charged twice.
    const retry = await call("POST", "upgrade", { planCode: "pro", prorationDate: preview.body.data.prorationDate });
    expect([retry.status, retry.body.data]).toEqual([200, up.body.data]);
    expect((await invoicesOf(orgId)).filter((i) => i.billing_reason === "subscription_update").length).toBe(1);
  });

  test("a retried upgrade with the same Idempotency-Key charges once", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    await advanceOrgClock(orgId, "5d");
    const call = await billing(orgId);
    const [a, b] = await Promise.all([
      call("POST", "upgrade", { planCode: "pro" }, { "idempotency-key": "retry-me" }),
      call("POST", "upgrade", { planCode: "pro" }, { "idempotency-key": "retry-me" }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const { customerId } = await ensureCustomer(orgId);
    const updates = (await stripe.invoices.list({ customer: customerId })).data.filter((i) => i.billing_reason === "subscription_update");
    expect(updates.length).toBe(1);
  });

  test("upgrading from a trial ends the trial and bills the full price now", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "trial");
    const call = await billing(orgId);
    const preview = await call("POST", "preview", { planCode: "growth" });
    // Ending a trial bills the full price: our own figure, labelled as such.
    expect(preview.body.data).toMatchObject({ from: "trial", change: "upgrade", amountDueNow: 9900, source: "local" });
    const up = await call("POST", "upgrade", { planCode: "growth" });
    expect(up.body.data).toMatchObject({ planCode: "growth", status: "active" });
    await until(async () => (await invoicesOf(orgId)).some((i) => i.total === 9900 && i.status === "paid"));
  });
});

describe("scheduled downgrade", () => {
  test("pending, replaced, canceled, scheduled again, then applied at renewal: lower invoice and units", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "pro");
    const key = await createApiKey({ orgId, name: "t" });
    const call = await billing(orgId);
    const preview = await call("POST", "preview", { planCode: "growth" });
    expect(preview.body.data).toMatchObject({ change: "downgrade", effective: "period_end", amountDueNow: 0, nextInvoiceAmount: 9900, source: "local" });

    expect((await call("POST", "downgrade", { planCode: "growth" })).body.data).toMatchObject({ planCode: "pro", pendingPlanCode: "growth" });
    expect((await call("POST", "downgrade", { planCode: "starter" })).body.data).toMatchObject({ planCode: "pro", pendingPlanCode: "starter" });
    // Stripe keeps the current price; the pending plan is the schedule's next phase.
    const { customerId } = await ensureCustomer(orgId);
    const [sub] = (await stripe.subscriptions.list({ customer: customerId })).data;
    expect(sub.items.data[0].price.unit_amount).toBe(29_900);
    const schedule = await stripe.subscriptionSchedules.retrieve(sub.schedule as string);
    expect(schedule.phases.map((p) => [p.items[0].price, p.start_date])).toEqual([
      [sub.items.data[0].price.id, sub.items.data[0].current_period_start],
      [expect.any(String), sub.items.data[0].current_period_end],
    ]);
    expect((await stripe.prices.retrieve(schedule.phases[1].items[0].price as string)).unit_amount).toBe(2_900);
    // The schedule's webhooks converge to the latest schedule without applying it early.
    await billingSettled(system);
    expect(await mirror(orgId)).toMatchObject({ plan_code: "pro", pending_plan_code: "starter" });
    expect(((await (await api(system.app.url, key.key).quota()).json()) as any).data.included).toBe(1_000_000);
    expect((await call("DELETE", "downgrade")).body.data).toMatchObject({ planCode: "pro", pendingPlanCode: null });
    expect((await call("DELETE", "downgrade")).status).toBe(404);
    await call("POST", "downgrade", { planCode: "growth" });
    await until(async () => (await mirror(orgId)).pending_plan_code === "growth");

    await advanceOrgClock(orgId, "31d");
    expect(await mirror(orgId)).toMatchObject({ plan_code: "growth", pending_plan_code: null });
    // Applied, then released: the subscription goes on by itself on the lower price.
    await until(async () => (await stripe.subscriptions.retrieve(sub.id)).schedule === null);
    expect((await stripe.subscriptionSchedules.retrieve(schedule.id)).status).toBe("released");
    expect(((await (await api(system.app.url, key.key).quota()).json()) as any).data).toMatchObject({ planCode: "growth", included: 250_000, used: 0 });
    await until(async () => (await invoicesOf(orgId)).some((i) => i.billing_reason === "subscription_cycle"));
    expect((await invoicesOf(orgId)).map((i) => [i.billing_reason, i.total])).toEqual([
      ["subscription_create", 29_900],
      ["subscription_cycle", 9_900],
    ]);
  });

  test("a downgrade sent twice at once makes one schedule (deterministic idempotency keys)", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "growth");
    const call = await billing(orgId);
    const [a, b] = await Promise.all([call("POST", "downgrade", { planCode: "starter" }), call("POST", "downgrade", { planCode: "starter" })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const { customerId } = await ensureCustomer(orgId);
    const schedules = (await stripe.subscriptionSchedules.list({ customer: customerId })).data;
    expect(schedules.map((s) => [s.status, s.phases.length])).toEqual([["active", 2]]);
  });

  test("a schedule changed outside the app (Stripe's Dashboard) converges: the pending plan follows its phases", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "pro");
    const call = await billing(orgId);
    await call("POST", "downgrade", { planCode: "growth" });
    const { customerId } = await ensureCustomer(orgId);
    const [sub] = (await stripe.subscriptions.list({ customer: customerId })).data;
    const schedule = await stripe.subscriptionSchedules.retrieve(sub.schedule as string);
    const starter = (await stripe.prices.list({ lookup_keys: ["metered_plan_starter"] })).data[0];
    await stripe.subscriptionSchedules.update(schedule.id, {
      phases: [
        { items: [{ price: sub.items.data[0].price.id }], start_date: schedule.phases[0].start_date, end_date: schedule.phases[0].end_date },
        { items: [{ price: starter.id }] },
      ],
    });
    await until(async () => (await mirror(orgId)).pending_plan_code === "starter");
    await stripe.subscriptionSchedules.release(schedule.id);
    await until(async () => (await mirror(orgId)).pending_plan_code === null);
    expect((await mirror(orgId)).plan_code).toBe("pro");
  });

  test("an upgrade clears a pending downgrade", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "growth");
    const call = await billing(orgId);
    await call("POST", "downgrade", { planCode: "starter" });
    const { customerId } = await ensureCustomer(orgId);
    const [before] = (await stripe.subscriptions.list({ customer: customerId })).data;
    expect(before.schedule).toBeTruthy();
    const up = await call("POST", "upgrade", { planCode: "pro" });
    expect(up.body.data).toMatchObject({ planCode: "pro", pendingPlanCode: null });
    expect((await stripe.subscriptionSchedules.retrieve(before.schedule as string)).status).toBe("released");
    const after = await stripe.subscriptions.retrieve(before.id);
    expect([after.schedule, after.items.data[0].price.unit_amount]).toEqual([null, 29_900]);
    await billingSettled(system);
    expect(await mirror(orgId)).toMatchObject({ plan_code: "pro", pending_plan_code: null });
  });
});

describe("bad input on 5.x changes nothing", () => {
  test("unknown plan, same plan, wrong direction, malformed body, unknown field", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "growth");
    const call = await billing(orgId);
    const before = await snapshot(orgId);
    const cases: [string, unknown, number, string][] = [
      ["preview", { planCode: "gold" }, 400, "VALIDATION_FAILED"],
      ["preview", { planCode: "growth" }, 400, "VALIDATION_FAILED"],
      ["preview", {}, 400, "VALIDATION_FAILED"],
      ["preview", { planCode: "pro", extra: 1 }, 400, "VALIDATION_FAILED"],
      ["upgrade", { planCode: "starter" }, 400, "VALIDATION_FAILED"],
      ["upgrade", { planCode: "trial" }, 400, "VALIDATION_FAILED"],
      ["downgrade", { planCode: "pro" }, 400, "VALIDATION_FAILED"],
      ["downgrade", { planCode: 5 }, 400, "VALIDATION_FAILED"],
    ];
    for (const [path, body, status, code] of cases) {
      const r = await call("POST", path, body);
      expect([path, r.status, r.body.error?.code]).toEqual([path, status, code]);
    }
    const malformed = await fetch(`${system.app.url}/api/v1/billing/upgrade`, {
      method: "POST",
      headers: { cookie: await signIn(system.app, orgId), origin: system.app.url, "content-type": "application/json" },
      body: "{nope",
    });
    expect(malformed.status).toBe(400);
    expect(await snapshot(orgId)).toEqual(before);
  });

  test("without a live subscription: 402", async () => {
    const orgId = await newOrg();
    const call = await billing(orgId);
    expect((await call("POST", "preview", { planCode: "pro" })).status).toBe(402);
  });
});
