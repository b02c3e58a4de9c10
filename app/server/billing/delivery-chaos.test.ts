// Stripe may deliver an event more than once and in any order. With the local Stripe doing both
// (some events twice, every delivery delayed at random), the app's mirror still converges on
// Stripe's state: the right plan, status and period, and one invoice row per invoice.
import { describe, expect, test } from "bun:test";
import { invoicesOf, mirror, newOrg, startBillingSystem, until } from "../../../test/billing";
import { advanceOrgClock, subscribeThroughStripe } from "../ops/sandbox.server";
import { stripe } from "./stripe.server";

const system = startBillingSystem({}, { deliveryChaos: { duplicate: 0.3, reorder: true } });

describe("webhooks delivered twice and out of order", () => {
  test("trial → starter → renewal converges on Stripe's subscription, one invoice row per invoice", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "trial");
    await advanceOrgClock(orgId, "15d");
    await advanceOrgClock(orgId, "31d");
    await system.local.flushWebhooks(20_000);
    const subId = (await mirror(orgId)).stripe_subscription_id as string;
    const truth = await stripe.subscriptions.retrieve(subId);
    const converged = await until(async () => {
      const m = await mirror(orgId);
      return m.status === "active" && m.plan_code === "starter" && Date.parse(m.period_end) === truth.items.data[0].current_period_end * 1000 && m;
    }, 20_000);
    expect(converged.pending_plan_code).toBeNull();
    await until(async () => (await invoicesOf(orgId)).length >= 3, 20_000);
    expect((await invoicesOf(orgId)).map((i) => [i.billing_reason, i.total, i.status])).toEqual([
      ["subscription_create", 0, "paid"],
      ["subscription_cycle", 2900, "paid"],
      ["subscription_cycle", 2900, "paid"],
    ]);
  });
});
