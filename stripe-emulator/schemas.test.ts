// Every object the app reads from the local Stripe has the shape of the `stripe` package's types:
// no required field missing, no field of the wrong type, no field the types do not name. The
// schemas are generated from those types (`bun run stripe:schemas`, stripe-emulator/schemas/).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Ajv from "ajv";
import Stripe from "stripe";
import { type StripeLocal, startStripeLocal } from "./index";
import schemas from "./schemas/stripe.json";

let local: StripeLocal;
let stripe: Stripe;
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema(schemas, "stripe");

/** The validation errors of `value` against the schema of Stripe's `type`, as readable lines. */
function problems(type: keyof typeof schemas.roots, value: unknown): string[] {
  const validate = ajv.getSchema(`stripe#/roots/${type}`)!;
  // As on the wire: the SDK turns decimal strings into `Decimal` objects, which serialize back.
  if (validate(JSON.parse(JSON.stringify(value)))) return [];
  return (validate.errors ?? []).map((e) => `${type}${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`).slice(0, 40);
}

/** The schema of an event's `data.object`, by its `object` field. */
const BY_OBJECT: Record<string, keyof typeof schemas.roots> = {
  customer: "Customer",
  subscription: "Subscription",
  subscription_schedule: "SubscriptionSchedule",
  invoice: "Invoice",
  price: "Price",
  product: "Product",
  "test_helpers.test_clock": "TestClock",
  "checkout.session": "CheckoutSession",
  payment_method: "PaymentMethod",
  "billing_portal.session": "BillingPortalSession",
  "billing_portal.configuration": "BillingPortalConfiguration",
};

beforeAll(async () => {
  local = await startStripeLocal({ port: 0, databaseUrl: process.env.DATABASE_URL!, schema: "stripe_schemas_test", meterLagMs: 0 });
  stripe = new Stripe("sk_test_schemas", { host: "127.0.0.1", port: local.port, protocol: "http", maxNetworkRetries: 0 });
});
afterAll(async () => {
  await local.stop();
});

describe("the local Stripe's objects match the stripe package's types", () => {
  test("customers, payment methods, prices, products, test clocks, subscriptions, schedules, invoices and previews", async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2026, 2, 1) / 1000) });
    const customer = await stripe.customers.create({ email: "s@example.com", name: "Shape", metadata: { org_id: "o" }, test_clock: clock.id });
    const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
    const price = await stripe.prices.create({ currency: "usd", unit_amount: 2900, recurring: { interval: "month" }, product_data: { name: "Starter" } });
    const growth = await stripe.prices.create({ currency: "usd", unit_amount: 9900, recurring: { interval: "month" }, product_data: { name: "Growth" } });
    const product = await stripe.products.retrieve(price.product as string);
    const sub = await stripe.subscriptions.create({
      billing_mode: { type: "classic" },
      customer: customer.id,
      items: [{ price: price.id }],
      default_payment_method: pm.id,
    });
    const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    const withSchedule = await stripe.subscriptions.retrieve(sub.id, { expand: ["schedule"] });
    const preview = await stripe.invoices.createPreview({
      customer: customer.id,
      subscription: sub.id,
      subscription_details: { items: [{ id: sub.items.data[0].id, price: growth.id }], proration_behavior: "always_invoice" },
    });
    await stripe.subscriptionSchedules.release(schedule.id);
    const upgraded = await stripe.subscriptions.update(sub.id, {
      items: [{ id: sub.items.data[0].id, price: growth.id }],
      proration_behavior: "always_invoice",
    });
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: upgraded.items.data[0].current_period_end + 7200 });
    const invoices = (await stripe.invoices.list({ subscription: sub.id })).data;
    expect(invoices.length).toBeGreaterThan(1);

    const found = [
      ...problems("Customer", await stripe.customers.retrieve(customer.id)),
      ...problems("PaymentMethod", await stripe.paymentMethods.retrieve(pm.id)),
      ...problems("Price", price),
      ...problems("Product", product),
      ...problems("TestClock", await stripe.testHelpers.testClocks.retrieve(clock.id)),
      ...problems("Subscription", sub),
      ...problems("Subscription", withSchedule),
      ...problems("Subscription", await stripe.subscriptions.retrieve(sub.id)),
      ...problems("SubscriptionSchedule", await stripe.subscriptionSchedules.retrieve(schedule.id)),
      ...problems("Invoice", preview),
      ...invoices.flatMap((i) => problems("Invoice", i)),
    ];
    expect(found).toEqual([]);
  });

  test("checkout and portal sessions, before and after paying, and portal configurations", async () => {
    const customer = await stripe.customers.create({ email: "c@example.com" });
    const price = await stripe.prices.create({ currency: "usd", unit_amount: 1000, recurring: { interval: "month" }, product_data: { name: "C" } });
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      client_reference_id: "org",
      line_items: [{ price: price.id, quantity: 1 }],
      subscription_data: { metadata: { org_id: "org" }, trial_period_days: 14, billing_mode: { type: "classic" } },
      metadata: { org_id: "org" },
      success_url: "http://app.test/done",
      cancel_url: "http://app.test/cancel",
    });
    const paid = await fetch(session.url!, { method: "POST", body: new URLSearchParams({ card: "4242424242424242" }), redirect: "manual" });
    expect(paid.status).toBe(303);
    const configuration = await stripe.billingPortal.configurations.create({
      features: { invoice_history: { enabled: true }, subscription_cancel: { enabled: true, mode: "at_period_end" } },
      business_profile: { headline: "Shapes" },
      metadata: { app: "schemas" },
    });
    const updated = await stripe.billingPortal.configurations.update(configuration.id, {
      name: "Shapes",
      features: { payment_method_update: { enabled: true } },
    });
    const portal = await stripe.billingPortal.sessions.create({
      customer: customer.id,
      configuration: configuration.id,
      return_url: "http://app.test/billing",
    });
    const other = await stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      line_items: [{ price: price.id, quantity: 1 }],
      subscription_data: { billing_mode: { type: "classic" } },
      success_url: "http://app.test/done",
    });
    const expired = await stripe.checkout.sessions.expire(other.id);
    const listed = await stripe.checkout.sessions.list({ customer: customer.id });
    expect(listed.data.map((s) => s.status)).toEqual(["expired", "complete"]);
    expect([
      ...problems("CheckoutSession", expired),
      ...listed.data.flatMap((s) => problems("CheckoutSession", s)),
      ...problems("CheckoutSession", session),
      ...problems("CheckoutSession", await stripe.checkout.sessions.retrieve(session.id)),
      ...problems("BillingPortalSession", portal),
      ...problems("BillingPortalConfiguration", configuration),
      ...problems("BillingPortalConfiguration", updated),
      ...problems("BillingPortalConfiguration", await stripe.billingPortal.configurations.retrieve(configuration.id)),
    ]).toEqual([]);
  });

  test("meters, meter events and their summaries", async () => {
    const meter = await stripe.billing.meters.create({
      display_name: "Calls",
      event_name: `calls_${crypto.randomUUID().slice(0, 8)}`,
      default_aggregation: { formula: "sum" },
      customer_mapping: { event_payload_key: "stripe_customer_id", type: "by_id" },
      value_settings: { event_payload_key: "value" },
    });
    const customer = await stripe.customers.create({ email: "m@example.com" });
    const event = await stripe.billing.meterEvents.create({ event_name: meter.event_name, payload: { stripe_customer_id: customer.id, value: "3" } });
    const now = Math.floor(Date.now() / 1000);
    const summaries = await stripe.billing.meters.listEventSummaries(meter.id, {
      customer: customer.id,
      start_time: now - (now % 60) - 600,
      end_time: now - (now % 60) + 600,
    });
    expect([...problems("Meter", meter), ...problems("MeterEvent", event), ...summaries.data.flatMap((s) => problems("MeterEventSummary", s))]).toEqual([]);
  });

  test("webhook endpoints and billing portal configurations", async () => {
    const endpoint = await stripe.webhookEndpoints.create({ url: "https://app.test/hook", enabled_events: ["invoice.paid"], description: "d" });
    const portal = await stripe.billingPortal.configurations.create({
      features: {
        payment_method_update: { enabled: true },
        invoice_history: { enabled: true },
        subscription_cancel: { enabled: true, mode: "at_period_end" },
        subscription_update: { enabled: false },
      },
      metadata: { app: "schemas" },
    });
    const updated = await stripe.billingPortal.configurations.update(portal.id, {
      features: { invoice_history: { enabled: false } },
    });
    expect([
      ...problems("WebhookEndpoint", endpoint),
      ...problems("WebhookEndpoint", await stripe.webhookEndpoints.retrieve(endpoint.id)),
      ...(await stripe.webhookEndpoints.list()).data.flatMap((e) => problems("WebhookEndpoint", e)),
      ...problems("BillingPortalConfiguration", portal),
      ...problems("BillingPortalConfiguration", updated),
      ...(await stripe.billingPortal.configurations.list()).data.flatMap((c) => problems("BillingPortalConfiguration", c)),
    ]).toEqual([]);
    await stripe.webhookEndpoints.del(endpoint.id);
  });

  test("every event, and the object it carries", async () => {
    const events = await stripe.events.list({ limit: 100 });
    expect(events.data.length).toBeGreaterThan(10);
    const found = events.data.flatMap((e) => {
      const type = BY_OBJECT[(e.data.object as { object: string }).object];
      return [...problems("Event", e), ...(type ? problems(type, e.data.object) : [`no schema for ${e.type}`])];
    });
    expect(found).toEqual([]);
  });
});
