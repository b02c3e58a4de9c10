// The local Stripe against Stripe's published API description (stripe-emulator/contract.ts):
// every parameter a route accepts is one Stripe names for that operation, and the main flows
// driven through the SDK send only parameters Stripe allows and get only answers of Stripe's
// shape. The same checks run against Stripe's OpenAPI document when its subset is at hand
// (openapi.ts; `bun run stripe:openapi`).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { routes } from "./api";
import { acceptedButUndescribed, contractViolations, sdkDescription } from "./contract";
import { type Exchange, type StripeLocal, startStripeLocal } from "./index";
import { descriptionsAtHand, findOpenapiSubset } from "./openapi";

let local: StripeLocal;
let stripe: Stripe;
const exchanges: Exchange[] = [];
const sdk = sdkDescription();
const subset = findOpenapiSubset();
const descriptions = descriptionsAtHand();

beforeAll(async () => {
  local = await startStripeLocal({
    port: 0,
    databaseUrl: process.env.DATABASE_URL!,
    schema: "stripe_contract_test",
    meterLagMs: 0,
    record: (x) => exchanges.push(x),
  });
  stripe = new Stripe("sk_test_contract", { host: "127.0.0.1", port: local.port, protocol: "http", maxNetworkRetries: 0 });
});
afterAll(async () => {
  await local.stop();
});

const refused = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: Stripe.errors.StripeError) => e,
  );

/** Customers, prices, Checkout, subscriptions, schedules, invoices, meters, test clocks and the portal, as the app uses them. */
async function mainFlows() {
  const start = Math.floor(Date.UTC(2026, 4, 1) / 1000);
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: start, name: "contract" });
  const customer = await stripe.customers.create({ email: "c@example.com", name: "Contract", metadata: { org_id: "org_c" }, test_clock: clock.id });
  await stripe.customers.retrieve(customer.id);
  const key = `contract_${crypto.randomUUID().slice(0, 8)}`;
  const starter = await stripe.prices.create({
    currency: "usd",
    unit_amount: 2900,
    recurring: { interval: "month" },
    lookup_key: `${key}_starter`,
    product_data: { name: "Starter" },
    metadata: { plan_code: "starter" },
  });
  const growth = await stripe.prices.create({ currency: "usd", unit_amount: 9900, recurring: { interval: "month" }, product_data: { name: "Growth" } });
  // The plan's amount changed: a new price takes the lookup key over.
  await stripe.prices.create({
    currency: "usd",
    unit_amount: 3900,
    recurring: { interval: "month" },
    lookup_key: `${key}_starter`,
    transfer_lookup_key: true,
    product_data: { name: "Starter" },
    metadata: { plan_code: "starter" },
  });
  await stripe.prices.list({ lookup_keys: [`${key}_starter`], active: true, limit: 1 });
  await stripe.prices.retrieve(starter.id);
  await stripe.products.retrieve(starter.product as string);

  const session = await stripe.checkout.sessions.create({
    mode: "subscription",
    customer: customer.id,
    client_reference_id: "org_c",
    line_items: [{ price: starter.id, quantity: 1 }],
    subscription_data: { metadata: { org_id: "org_c" }, trial_period_days: 14, billing_mode: { type: "classic" } },
    metadata: { org_id: "org_c", plan_code: "starter" },
    success_url: "http://127.0.0.1/ok?session_id={CHECKOUT_SESSION_ID}",
    cancel_url: "http://127.0.0.1/cancel",
  });
  await stripe.checkout.sessions.list({ customer: customer.id, status: "open", limit: 100 });
  await stripe.checkout.sessions.retrieve(session.id);
  await stripe.checkout.sessions.expire(session.id);
  expect(await refused(stripe.checkout.sessions.expire(session.id))).toMatchObject({ statusCode: 400 });

  const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  await stripe.paymentMethods.retrieve(pm.id);
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  const sub = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: starter.id }],
    default_payment_method: pm.id,
    billing_mode: { type: "classic" },
    payment_behavior: "allow_incomplete",
    metadata: { org_id: "org_c" },
  });
  await stripe.subscriptions.list({ customer: customer.id, status: "all", limit: 100 });
  await stripe.subscriptions.retrieve(sub.id, { expand: ["schedule"] });
  const prorationDate = (await stripe.testHelpers.testClocks.retrieve(clock.id)).frozen_time + 3600;
  await stripe.invoices.createPreview({
    customer: customer.id,
    subscription: sub.id,
    subscription_details: { items: [{ id: sub.items.data[0].id, price: growth.id }], proration_behavior: "always_invoice", proration_date: prorationDate },
  });
  await stripe.subscriptions.update(sub.id, {
    items: [{ id: sub.items.data[0].id, price: growth.id }],
    proration_behavior: "always_invoice",
    proration_date: prorationDate,
  });

  // A downgrade: a schedule from the subscription, its phases written, then released.
  const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
  const current = schedule.phases[0];
  await stripe.subscriptionSchedules.update(schedule.id, {
    end_behavior: "release",
    proration_behavior: "none",
    metadata: { revision: "1" },
    phases: [
      { items: [{ price: growth.id }], start_date: current.start_date, end_date: current.end_date },
      { items: [{ price: starter.id }], duration: { interval: "month", interval_count: 1 } },
    ],
  });
  await stripe.subscriptionSchedules.list({ customer: customer.id, limit: 10 });
  await stripe.subscriptionSchedules.retrieve(schedule.id);
  await stripe.subscriptionSchedules.release(schedule.id);

  const invoices = await stripe.invoices.list({ subscription: sub.id, limit: 100 });
  await stripe.invoices.retrieve(invoices.data[0].id);

  // A top-up: a one-time price, a one-off invoice charging the saved card, a refused one voided,
  // and a payment-mode Checkout for it.
  const pack = await stripe.prices.create({ currency: "usd", unit_amount: 1000, lookup_key: `${key}_pack`, product_data: { name: "Pack" } });
  const oneOff = async () => {
    const draft = await stripe.invoices.create({
      customer: customer.id,
      collection_method: "charge_automatically",
      auto_advance: false,
      pending_invoice_items_behavior: "exclude",
      description: "Top-up",
      metadata: { kind: "top_up" },
    });
    await stripe.invoiceItems.create({ customer: customer.id, invoice: draft.id, pricing: { price: pack.id }, quantity: 2, metadata: { kind: "top_up" } });
    await stripe.invoices.finalizeInvoice(draft.id!, { auto_advance: false });
    return draft.id!;
  };
  const paid = await stripe.invoices.pay(await oneOff(), { off_session: true });
  expect([paid.status, paid.amount_paid]).toEqual(["paid", 2000]);
  expect(await refused(stripe.invoices.pay(paid.id!, { off_session: true }))).toMatchObject({ statusCode: 400 });
  const failing = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: failing.id } });
  const declined = await oneOff();
  expect(await refused(stripe.invoices.pay(declined, { off_session: true }))).toMatchObject({ statusCode: 402, code: "card_declined" });
  expect((await stripe.invoices.voidInvoice(declined)).status).toBe("void");
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  const payment = await stripe.checkout.sessions.create({
    mode: "payment",
    customer: customer.id,
    client_reference_id: "org_c",
    line_items: [{ price: pack.id, quantity: 3 }],
    metadata: { kind: "top_up" },
    success_url: "http://127.0.0.1/ok?session_id={CHECKOUT_SESSION_ID}",
    cancel_url: "http://127.0.0.1/cancel",
  });
  expect([payment.mode, payment.amount_total]).toEqual(["payment", 3000]);
  expect(
    await refused(
      stripe.checkout.sessions.create({
        mode: "payment",
        customer: customer.id,
        line_items: [{ price: starter.id, quantity: 1 }],
        success_url: "http://127.0.0.1/ok",
      }),
    ),
  ).toMatchObject({ statusCode: 400 });

  const meter = await stripe.billing.meters.create({
    display_name: "Calls",
    event_name: key,
    default_aggregation: { formula: "sum" },
    customer_mapping: { event_payload_key: "stripe_customer_id", type: "by_id" },
    value_settings: { event_payload_key: "value" },
  });
  await stripe.billing.meters.list({ status: "active", limit: 100 });
  const now = Math.floor(Date.now() / 1000);
  await stripe.billing.meterEvents.create({
    event_name: key,
    payload: { stripe_customer_id: customer.id, value: "7" },
    identifier: `${key}_1`,
    timestamp: now,
  });
  const minute = now - (now % 60);
  await stripe.billing.meters.listEventSummaries(meter.id, { customer: customer.id, start_time: minute - 60, end_time: minute + 120 });

  // The portal's configuration, as the app makes it: created, listed, read, updated, then used.
  const portal = await stripe.billingPortal.configurations.create({
    features: { invoice_history: { enabled: true }, payment_method_update: { enabled: true }, subscription_cancel: { enabled: true, mode: "at_period_end" } },
    metadata: { contract: "1" },
  });
  await stripe.billingPortal.configurations.list({ active: true, limit: 10 });
  await stripe.billingPortal.configurations.retrieve(portal.id);
  await stripe.billingPortal.configurations.update(portal.id, { metadata: { contract: "2" } });
  await stripe.billingPortal.sessions.create({ customer: customer.id, return_url: "http://127.0.0.1/billing", configuration: portal.id });
  await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: start + 40 * 86_400 });
  await stripe.testHelpers.testClocks.retrieve(clock.id);
  const events = await stripe.events.list({ limit: 5 });
  await stripe.events.retrieve(events.data[0].id);

  // A second subscription, then canceled at once: schedules canceled with it.
  const other = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: starter.id }],
    default_payment_method: pm.id,
    billing_mode: { type: "classic" },
  });
  const otherSchedule = await stripe.subscriptionSchedules.create({ from_subscription: other.id });
  await stripe.subscriptionSchedules.cancel(otherSchedule.id);
  const third = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: starter.id }],
    default_payment_method: pm.id,
    billing_mode: { type: "classic" },
  });
  await stripe.subscriptions.cancel(third.id);
}

describe.each(descriptions.map((d) => [d.name, d] as const))("the local Stripe against %s", (_name, description) => {
  test("every parameter a route accepts is one Stripe names for that operation", () => {
    expect(acceptedButUndescribed(description, routes)).toEqual([]);
  });

  test("the main flows through the SDK: every request Stripe allows, every answer of Stripe's shape", async () => {
    if (exchanges.length === 0) await mainFlows();
    expect(exchanges.length).toBeGreaterThan(40);
    expect(contractViolations(description, exchanges)).toEqual([]);
  });
});

test.if(subset !== null)("the OpenAPI subset is of the API version the stripe package pins", () => {
  expect(subset?.doc.info.version).toBe(Stripe.API_VERSION);
});

describe("the contract catches drift", () => {
  const base: Exchange = {
    method: "POST",
    path: "/v1/test_helpers/test_clocks/clock_1/advance",
    params: { frozen_time: "1800000000" },
    status: 200,
    body: {
      id: "clock_1",
      object: "test_helpers.test_clock",
      created: 1,
      deletes_after: 2,
      frozen_time: 1800000000,
      livemode: false,
      name: null,
      status: "advancing",
      status_details: { advancing: { target_frozen_time: 1800000000 } },
    },
  };
  const found = (x: Partial<Exchange>) => contractViolations(sdk, [{ ...base, ...x }]);

  test("a well-formed exchange passes", () => {
    expect(found({})).toEqual([]);
  });

  test("an unknown parameter, a parameter of the wrong type, a removed one (phases[].iterations)", () => {
    expect(found({ params: { frozen_time: "1800000000", colour: "red" } }).join()).toContain("additionalProperty");
    expect(found({ params: { frozen_time: "soon" } }).join()).toContain("/frozen_time");
    const phases = [{ items: [{ price: "price_1" }], iterations: "1" }];
    expect(found({ method: "POST", path: "/v1/subscription_schedules/sub_sched_1", params: { phases }, body: {} }).join()).toContain("iterations");
  });

  test("an answer with a field Stripe does not name, or without one it requires, or of the wrong type", () => {
    const body = base.body as Record<string, unknown>;
    expect(found({ body: { ...body, colour: "red" } }).join()).toContain("colour");
    const { deletes_after: _, ...without } = body;
    expect(found({ body: without }).join()).toContain("deletes_after");
    expect(found({ body: { ...body, frozen_time: "now" } }).join()).toContain("/frozen_time");
  });

  test("a request no operation names, and an error answer not shaped like Stripe's", () => {
    expect(found({ method: "POST", path: "/v1/charges" })).toEqual(["POST /v1/charges: no such operation in the contract"]);
    expect(found({ status: 400, body: { error: { message: "no type" } } }).join()).toContain("answer 400");
  });
});
