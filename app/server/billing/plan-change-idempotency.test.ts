// Plan changes repeated, raced and reversed, through the real app process, the worker and the
// local Stripe: one Idempotency-Key is one change (one answer, one audit row) even on an app
// process that has loaded nothing yet, and no key the app sends Stripe is reused with another
// body (Stripe refuses that for 24 hours).
import { describe, expect, test } from "bun:test";
import { startApp } from "../../../test/app";
import { billingApi, mirror, newOrg, startBillingSystem, until } from "../../../test/billing";
import { advanceOrgClock, subscribeThroughStripe } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";
import { ensureCustomer, stripe } from "./stripe.server";

const system = startBillingSystem();
const billing = (orgId: string) => billingApi(system.app, orgId);

async function stripeSubscription(orgId: string) {
  const { customerId } = await ensureCustomer(orgId);
  const [sub] = (await stripe.subscriptions.list({ customer: customerId })).data;
  return sub;
}

describe("one Idempotency-Key, one upgrade", () => {
  test("six at once on a freshly started app process: six equal 200s, one invoice, one audit row", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    await advanceOrgClock(orgId, "5d");
    // A new app process: its plan → price cache is cold.
    await system.app.stop();
    system.app = await startApp(system.env);
    const call = await billing(orgId);
    const answers = await Promise.all(Array.from({ length: 6 }, () => call("POST", "upgrade", { planCode: "pro" }, { "idempotency-key": "six-at-once" })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(answers[0].body.data).toMatchObject({ planCode: "pro", status: "active" });
    for (const a of answers) expect(a.body.data).toEqual(answers[0].body.data);
    const audit = await sql`select target from audit_log where org_id = ${orgId} and action = 'plan.upgraded'`;
    expect(audit.map((r) => r.target)).toEqual(["pro"]);
    const { customerId } = await ensureCustomer(orgId);
    const updates = (await stripe.invoices.list({ customer: customerId })).data.filter((i) => i.billing_reason === "subscription_update");
    expect(updates.length).toBe(1);
    // A later retry replays the same answer and writes nothing more.
    const later = await call("POST", "upgrade", { planCode: "pro" }, { "idempotency-key": "six-at-once" });
    expect([later.status, later.body.data]).toEqual([200, answers[0].body.data]);
    expect(await sql`select 1 from audit_log where org_id = ${orgId} and action = 'plan.upgraded'`).toHaveLength(1);
  });
});

describe("a downgrade made again after its schedule is gone", () => {
  test("downgrade, upgrade, the same downgrade again in one period: a second schedule, then cancel and again", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "growth");
    const call = await billing(orgId);
    expect((await call("POST", "downgrade", { planCode: "starter" })).body.data).toMatchObject({ planCode: "growth", pendingPlanCode: "starter" });
    const first = (await stripeSubscription(orgId)).schedule as string;
    expect((await call("POST", "upgrade", { planCode: "pro" })).body.data).toMatchObject({ planCode: "pro", pendingPlanCode: null });
    // The new schedule starts at revision 0 again, like the first one did.
    const again = await call("POST", "downgrade", { planCode: "starter" });
    expect([again.status, again.body.data?.pendingPlanCode]).toEqual([200, "starter"]);
    const sub = await stripeSubscription(orgId);
    const second = await stripe.subscriptionSchedules.retrieve(sub.schedule as string);
    expect(second.id).not.toBe(first);
    expect((await stripe.subscriptionSchedules.retrieve(first)).status).toBe("released");
    const starter = (await stripe.prices.list({ lookup_keys: ["metered_plan_starter"] })).data[0].id;
    expect(second.phases.map((p) => p.items[0].price)).toEqual([sub.items.data[0].price.id, starter]);
    expect((await call("DELETE", "downgrade")).status).toBe(200);
    expect((await call("POST", "downgrade", { planCode: "starter" })).status).toBe(200);
    await until(async () => (await mirror(orgId)).pending_plan_code === "starter");
    expect(await mirror(orgId)).toMatchObject({ plan_code: "pro", pending_plan_code: "starter" });
  });

  test("a schedule released in Stripe's Dashboard, then the same downgrade again: a new schedule", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "pro");
    const call = await billing(orgId);
    expect((await call("POST", "downgrade", { planCode: "growth" })).status).toBe(200);
    const first = (await stripeSubscription(orgId)).schedule as string;
    await stripe.subscriptionSchedules.release(first);
    await until(async () => (await mirror(orgId)).pending_plan_code === null);
    const again = await call("POST", "downgrade", { planCode: "growth" });
    expect([again.status, again.body.data?.pendingPlanCode]).toEqual([200, "growth"]);
    const second = (await stripeSubscription(orgId)).schedule as string;
    expect(second).not.toBe(first);
    expect((await stripe.subscriptionSchedules.retrieve(second)).status).toBe("active");
  });
});

describe("changes of one org under different keys, at once: one at a time", () => {
  test("three upgrades to one plan, each with its own key: one change, one invoice, one audit row; the others are told it is done", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const call = await billing(orgId);
    const answers = await Promise.all(["k1", "k2", "k3"].map((key) => call("POST", "upgrade", { planCode: "growth" }, { "idempotency-key": key })));
    // Before: one 200 and Stripe's refusal of the second set of items as a 500 for the others.
    expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400]);
    for (const refused of answers.filter((a) => a.status === 400)) {
      expect(refused.body.error).toMatchObject({ code: "VALIDATION_FAILED", message: "The organisation is already on Growth." });
    }
    expect(await sql`select target from audit_log where org_id = ${orgId} and action = 'plan.upgraded'`).toHaveLength(1);
    const { customerId } = await ensureCustomer(orgId);
    const updates = (await stripe.invoices.list({ customer: customerId })).data.filter((i) => i.billing_reason === "subscription_update");
    expect(updates.length).toBe(1);
    expect((await stripeSubscription(orgId)).items.data.filter((item) => item.price.recurring?.usage_type === "licensed")).toHaveLength(1);
    // Each key keeps its own answer: the winner's replays its 200; a loser's, run again, is still "already on it".
    const winner = ["k1", "k2", "k3"][answers.findIndex((a) => a.status === 200)];
    expect((await call("POST", "upgrade", { planCode: "growth" }, { "idempotency-key": winner })).status).toBe(200);
  });

  test("a scheduled downgrade withdrawn twice at once: one withdrawal, then nothing scheduled", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "growth");
    const call = await billing(orgId);
    expect((await call("POST", "downgrade", { planCode: "starter" })).status).toBe(200);
    const answers = await Promise.all([call("DELETE", "downgrade"), call("DELETE", "downgrade")]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 404]);
    expect(await sql`select 1 from audit_log where org_id = ${orgId} and action = 'downgrade.canceled'`).toHaveLength(1);
    expect(await mirror(orgId)).toMatchObject({ plan_code: "growth", pending_plan_code: null });
  });

  test("a downgrade while the subscription is set to cancel is refused: the last period stays the plan's own", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "growth");
    const sub = await stripeSubscription(orgId);
    await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    await until(async () => (await mirror(orgId)).cancel_at_period_end === true);
    const call = await billing(orgId);
    const refused = await call("POST", "downgrade", { planCode: "starter" });
    expect([refused.status, refused.body.error?.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(refused.body.error.message).toContain("set to cancel");
    expect((await stripeSubscription(orgId)).schedule).toBeNull();
    expect(await mirror(orgId)).toMatchObject({ plan_code: "growth", pending_plan_code: null });
  });
});
