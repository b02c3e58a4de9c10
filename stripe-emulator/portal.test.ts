// The customer portal as Stripe runs it: a session needs a configuration (the one it names, or the
// account's default, which Stripe has only once the portal settings are saved), configurations are
// created, listed, retrieved and updated with Stripe's parameters and checks, and the hosted page
// offers exactly what the session's configuration allows.
import { beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import type { StripeLocal } from "./index";
import { localStripeForTests, refusal } from "./test-support";

const started = localStripeForTests("stripe_portal_test");
let local: StripeLocal;
let stripe: Stripe;
beforeAll(() => {
  ({ local, stripe } = started);
});

/** What the app asks for: cards and invoices, cancel at the period end, no plan changes. */
const APP_LIKE: Stripe.BillingPortal.ConfigurationCreateParams = {
  features: {
    payment_method_update: { enabled: true },
    invoice_history: { enabled: true },
    subscription_cancel: { enabled: true, mode: "at_period_end", proration_behavior: "none" },
    subscription_update: { enabled: false },
  },
};

async function price(amount: number, name: string) {
  return stripe.prices.create({ currency: "usd", unit_amount: amount, recurring: { interval: "month" }, product_data: { name } });
}

/** A customer paying `p` by card (no test clock: Stripe's time is the wall clock). */
async function subscribed(p: Stripe.Price) {
  const customer = await stripe.customers.create({ email: "portal@example.com" });
  const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  const sub = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: p.id }],
    default_payment_method: pm.id,
    billing_mode: { type: "classic" },
  });
  return { customer, sub };
}

const post = (url: string, form: Record<string, string>) => fetch(url, { method: "POST", body: new URLSearchParams(form) });

describe("portal configurations", () => {
  test("without a configuration named or saved as the default, a portal session is refused as Stripe refuses it", async () => {
    const customer = await stripe.customers.create({ email: "nodefault@example.com" });
    const err = await refusal(stripe.billingPortal.sessions.create({ customer: customer.id }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain("until you save your customer portal settings in test mode");
  });

  test("create, retrieve, list and update, with Stripe's defaults for what is not given", async () => {
    const created = await stripe.billingPortal.configurations.create({
      ...APP_LIKE,
      business_profile: { headline: "Metered billing" },
      metadata: { app: "metered", version: "1" },
      name: "Metered",
    });
    expect(created).toMatchObject({
      object: "billing_portal.configuration",
      active: true,
      is_default: false,
      livemode: false,
      name: "Metered",
      metadata: { app: "metered", version: "1" },
      business_profile: { headline: "Metered billing", privacy_policy_url: null, terms_of_service_url: null },
      login_page: { enabled: false, url: null },
      features: {
        customer_update: { enabled: false, allowed_updates: [] },
        invoice_history: { enabled: true },
        payment_method_update: { enabled: true, payment_method_configuration: null },
        subscription_cancel: { enabled: true, mode: "at_period_end", proration_behavior: "none" },
        subscription_pause: { enabled: false },
        subscription_update: { enabled: false, default_allowed_updates: [], proration_behavior: "none" },
      },
    });
    expect(created.id).toStartWith("bpc_");
    expect(await stripe.billingPortal.configurations.retrieve(created.id)).toEqual(created);

    const updated = await stripe.billingPortal.configurations.update(created.id, {
      features: { invoice_history: { enabled: false } },
      metadata: { version: "", extra: "x" },
      active: false,
    });
    // Only what was sent changes; a metadata key sent empty is removed.
    expect(updated.features.invoice_history.enabled).toBe(false);
    expect(updated.features.payment_method_update.enabled).toBe(true);
    expect(updated.metadata).toEqual({ app: "metered", extra: "x" });
    expect(updated.active).toBe(false);

    const inactive = await stripe.billingPortal.configurations.list({ active: false, limit: 100 });
    expect(inactive.data.map((c) => c.id)).toContain(created.id);
    const active = await stripe.billingPortal.configurations.list({ active: true, limit: 100 });
    expect(active.data.map((c) => c.id)).not.toContain(created.id);

    const missing = await refusal(stripe.billingPortal.configurations.retrieve("bpc_missing"));
    expect([missing.statusCode, missing.code]).toEqual([404, "resource_missing"]);
  });

  test("parameters are checked like Stripe checks them", async () => {
    // [parameters, Stripe's error code, the parameter it names]
    const cases: [Record<string, unknown>, string, string][] = [
      [{}, "parameter_missing", "features"],
      [{ features: { subscription_update: { default_allowed_updates: ["price"] } } }, "parameter_missing", "features[subscription_update][enabled]"],
      [{ features: { subscription_cancel: { mode: "at_period_end" } } }, "parameter_missing", "features[subscription_cancel][enabled]"],
      [{ features: { invoice_history: { enabled: "yes" } } }, "parameter_invalid_boolean", "features[invoice_history][enabled]"],
      [{ features: { subscription_cancel: { enabled: true, mode: "later" } } }, "parameter_invalid_string", "features[subscription_cancel][mode]"],
      [
        { features: { subscription_cancel: { enabled: true, proration_behavior: "always_invoice" } } },
        "parameter_invalid_string",
        "features[subscription_cancel][proration_behavior]",
      ],
      [{ features: { invoice_history: { enabled: true }, colour: { enabled: true } } }, "parameter_unknown", "features[colour]"],
      [
        { features: { invoice_history: { enabled: true } }, business_profile: { headline: "x".repeat(61) } },
        "parameter_invalid_string",
        "business_profile[headline]",
      ],
    ];
    for (const [params, code, param] of cases) {
      const err = await refusal(stripe.billingPortal.configurations.create(params as never));
      expect([err.statusCode, err.code, err.param]).toEqual([400, code, param]);
    }
    const p = await price(2900, "Checked");
    const products = Array.from({ length: 11 }, () => ({ product: p.product as string, prices: [p.id] }));
    const tooMany = await refusal(
      stripe.billingPortal.configurations.create({ features: { subscription_update: { enabled: true, default_allowed_updates: ["price"], products } } }),
    );
    expect([tooMany.statusCode, tooMany.param]).toEqual([400, "features[subscription_update][products]"]);
    const unknownPrice = await refusal(
      stripe.billingPortal.configurations.create({
        features: {
          subscription_update: { enabled: true, default_allowed_updates: ["price"], products: [{ product: p.product as string, prices: ["price_missing"] }] },
        },
      }),
    );
    expect([unknownPrice.statusCode, unknownPrice.code]).toEqual([404, "resource_missing"]);
  });

  test("a session uses the configuration it names (which must exist and be active), else the default saved in the Dashboard", async () => {
    const customer = await stripe.customers.create({ email: "sessions@example.com" });
    const config = await stripe.billingPortal.configurations.create(APP_LIKE);
    const session = await stripe.billingPortal.sessions.create({ customer: customer.id, configuration: config.id, expand: ["configuration"] });
    expect((session.configuration as Stripe.BillingPortal.Configuration).id).toBe(config.id);

    const missing = await refusal(stripe.billingPortal.sessions.create({ customer: customer.id, configuration: "bpc_missing" }));
    expect([missing.statusCode, missing.code, missing.param]).toEqual([404, "resource_missing", "configuration"]);
    const off = await stripe.billingPortal.configurations.create(APP_LIKE);
    await stripe.billingPortal.configurations.update(off.id, { active: false });
    const inactive = await refusal(stripe.billingPortal.sessions.create({ customer: customer.id, configuration: off.id }));
    expect([inactive.statusCode, inactive.param]).toEqual([400, "configuration"]);

    const saved = await local.saveDefaultPortalConfiguration(APP_LIKE.features);
    expect(saved.is_default).toBe(true);
    expect((await stripe.billingPortal.configurations.list({ is_default: true })).data.map((c) => c.id)).toEqual([saved.id]);
    expect((await stripe.billingPortal.sessions.create({ customer: customer.id })).configuration).toBe(saved.id);
  });
});

describe("the hosted portal page follows the session's configuration", () => {
  test("cards, invoices and cancel at the period end; no plan switch, no immediate cancel", async () => {
    const starter = await price(2900, "Starter page");
    const growth = await price(9900, "Growth page");
    const { customer, sub } = await subscribed(starter);
    const config = await stripe.billingPortal.configurations.create(APP_LIKE);
    const { url } = await stripe.billingPortal.sessions.create({ customer: customer.id, configuration: config.id });
    const page = await (await fetch(url)).text();
    expect(page).toContain("Cancel plan");
    expect(page).toContain("Update card");
    expect(page).toContain("Invoices");
    expect(page).not.toContain("Switch to");

    const switched = await post(url, { action: "switch", price: growth.id });
    expect(switched.status).toBe(403);
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data[0].price.id).toBe(starter.id);

    expect(await (await post(url, { action: "cancel" })).text()).toContain("canceled at the end of the period");
    expect(await stripe.subscriptions.retrieve(sub.id)).toMatchObject({ status: "active", cancel_at_period_end: true });
    expect(await (await post(url, { action: "renew" })).text()).toContain("Your plan will renew.");
    expect((await stripe.subscriptions.retrieve(sub.id)).cancel_at_period_end).toBe(false);
  });

  test("a configuration with nothing enabled: no card form, no cancel, no invoices, and posts refused", async () => {
    const { customer, sub } = await subscribed(await price(2900, "Bare"));
    const config = await stripe.billingPortal.configurations.create({
      features: { invoice_history: { enabled: false }, payment_method_update: { enabled: false }, subscription_cancel: { enabled: false } },
    });
    const { url } = await stripe.billingPortal.sessions.create({ customer: customer.id, configuration: config.id });
    const page = await (await fetch(url)).text();
    for (const absent of ["Cancel plan", "Update card", "Invoices", "Switch to"]) expect(page).not.toContain(absent);
    expect((await post(url, { action: "cancel" })).status).toBe(403);
    expect((await post(url, { action: "card", card: "4242424242424242" })).status).toBe(403);
    expect(await stripe.subscriptions.retrieve(sub.id)).toMatchObject({ status: "active", cancel_at_period_end: false });
  });

  test("a configuration that allows them: a switch among its prices only, and an immediate cancel", async () => {
    const starter = await price(2900, "Starter switch");
    const growth = await price(9900, "Growth switch");
    const other = await price(29900, "Not offered");
    const { customer, sub } = await subscribed(starter);
    const config = await stripe.billingPortal.configurations.create({
      features: {
        subscription_cancel: { enabled: true, mode: "immediately" },
        subscription_update: {
          enabled: true,
          default_allowed_updates: ["price"],
          proration_behavior: "none",
          products: [
            { product: starter.product as string, prices: [starter.id] },
            { product: growth.product as string, prices: [growth.id] },
          ],
        },
      },
    });
    const { url } = await stripe.billingPortal.sessions.create({ customer: customer.id, configuration: config.id });
    const page = await (await fetch(url)).text();
    expect(page).toContain("Switch to Growth switch");
    expect(page).not.toContain("Not offered");
    expect((await post(url, { action: "switch", price: other.id })).status).toBe(403);
    expect((await post(url, { action: "switch", price: growth.id })).status).toBe(200);
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data[0].price.id).toBe(growth.id);
    await post(url, { action: "cancel" });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("canceled");
  });
});
