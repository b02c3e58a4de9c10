// Billing portal configurations with Stripe's parameters and defaults, and prices whose lookup key
// moves only when asked (`transfer_lookup_key`).
import { describe, expect, test } from "bun:test";
import { localStripeForTests, refusal } from "./test-support";

const t = localStripeForTests("stripe_portal_config_test");

describe("billing portal configurations", () => {
  test("what is not named is off; cancel defaults to the period end without proration; never the default; listed by active", async () => {
    const c = await t.stripe.billingPortal.configurations.create({
      features: { invoice_history: { enabled: true }, subscription_cancel: { enabled: true } },
      metadata: { app: "metered" },
    });
    expect(c).toMatchObject({ object: "billing_portal.configuration", active: true, is_default: false, metadata: { app: "metered" } });
    expect(c.features).toMatchObject({
      invoice_history: { enabled: true },
      payment_method_update: { enabled: false },
      customer_update: { enabled: false },
      subscription_cancel: { enabled: true, mode: "at_period_end", proration_behavior: "none" },
      subscription_update: { enabled: false },
    });
    const off = await t.stripe.billingPortal.configurations.update(c.id, { active: false, features: { payment_method_update: { enabled: true } } });
    expect([off.active, off.features.payment_method_update.enabled, off.features.invoice_history.enabled]).toEqual([false, true, true]);
    const active = await t.stripe.billingPortal.configurations.list({ active: true });
    expect(active.data.map((x) => x.id)).not.toContain(c.id);
    expect((await t.stripe.billingPortal.configurations.list({ active: false })).data.map((x) => x.id)).toContain(c.id);
    const missing = await refusal(t.stripe.billingPortal.configurations.retrieve("bpc_missing"));
    expect([missing.statusCode, missing.code]).toEqual([404, "resource_missing"]);
  });
});

describe("price lookup keys", () => {
  test("a key in use is refused, moved with transfer_lookup_key; a price can be archived", async () => {
    const key = `plan_${crypto.randomUUID().slice(0, 8)}`;
    const first = await t.stripe.prices.create({
      currency: "usd",
      unit_amount: 2900,
      recurring: { interval: "month" },
      product_data: { name: "A" },
      lookup_key: key,
    });
    const taken = await refusal(t.stripe.prices.create({ currency: "usd", unit_amount: 3900, product: first.product as string, lookup_key: key }));
    expect([taken.statusCode, taken.param]).toEqual([400, "lookup_key"]);
    const second = await t.stripe.prices.create({
      currency: "usd",
      unit_amount: 3900,
      recurring: { interval: "month" },
      product: first.product as string,
      lookup_key: key,
      transfer_lookup_key: true,
    });
    expect((await t.stripe.prices.list({ lookup_keys: [key] })).data.map((p) => p.id)).toEqual([second.id]);
    expect((await t.stripe.prices.retrieve(first.id)).lookup_key).toBeNull();
    const archived = await t.stripe.prices.update(first.id, { active: false });
    expect(archived.active).toBe(false);
  });
});
