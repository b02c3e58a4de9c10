// The local Stripe's fidelity, checked on its own through the official stripe SDK.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { addMonths } from "./account";
import { type StripeLocal, startStripeLocal } from "./index";

const SECRET = "whsec_emulatorTestSecret";
const received: Stripe.Event[] = [];
let failNext = 0;
const receiver = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const body = await req.text();
    if (failNext > 0) {
      failNext--;
      return new Response("down", { status: 500 });
    }
    const event = await new Stripe("sk_test_x").webhooks.constructEventAsync(body, req.headers.get("stripe-signature")!, SECRET);
    received.push(event);
    return new Response("ok");
  },
});

let local: StripeLocal;
let stripe: Stripe;
const start = () =>
  startStripeLocal({
    port: 0,
    databaseUrl: process.env.DATABASE_URL!,
    schema: "stripe_emulator_test",
    webhook: { url: `http://127.0.0.1:${receiver.port}/`, secret: SECRET },
    retrySchedule: [100, 200],
  });

beforeAll(async () => {
  local = await start();
  stripe = new Stripe("sk_test_emulator", { host: "127.0.0.1", port: local.port, protocol: "http" });
});
afterAll(async () => {
  await local.stop();
  receiver.stop(true);
});

async function priceOf(amount: number) {
  return stripe.prices.create({ currency: "usd", unit_amount: amount, recurring: { interval: "month" }, product_data: { name: `Plan ${amount}` } });
}

async function customerOnClock(frozen = Math.floor(Date.UTC(2026, 0, 31, 12) / 1000)) {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: frozen });
  const customer = await stripe.customers.create({ email: "c@example.com", test_clock: clock.id });
  return { clock, customer };
}

async function payWith(customerId: string, card: "pm_card_visa" | "pm_card_chargeCustomerFail") {
  const pm = await stripe.paymentMethods.attach(card, { customer: customerId });
  await stripe.customers.update(customerId, { invoice_settings: { default_payment_method: pm.id } });
  return pm;
}

const eventsOf = (customer: string) => received.filter((e) => (e.data.object as { customer?: string }).customer === customer).map((e) => e.type);

describe("local Stripe through the SDK", () => {
  test("prices are found by lookup key; errors have Stripe's shape", async () => {
    const p = await stripe.prices.create({
      currency: "usd",
      unit_amount: 2900,
      recurring: { interval: "month" },
      lookup_key: `lk_${Date.now()}`,
      product_data: { name: "Starter" },
    });
    const found = await stripe.prices.list({ lookup_keys: [p.lookup_key!] });
    expect(found.data.map((x) => x.id)).toEqual([p.id]);
    const err = await stripe.subscriptions.retrieve("sub_missing").catch((e) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.code).toBe("resource_missing");
    expect(err.statusCode).toBe(404);
  });

  test("monthly periods clamp to the month's end from the anchor", () => {
    const jan31 = Date.UTC(2026, 0, 31) / 1000;
    expect(new Date(addMonths(jan31, 1) * 1000).toISOString().slice(0, 10)).toBe("2026-02-28");
    expect(new Date(addMonths(jan31, 2) * 1000).toISOString().slice(0, 10)).toBe("2026-03-31");
  });

  test("checkout with a trial, paid on the hosted page: trialing, events signed and in order; the clock ends the trial with a paid invoice", async () => {
    const price = await priceOf(2900);
    const { clock, customer } = await customerOnClock();
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      line_items: [{ price: price.id, quantity: 1 }],
      subscription_data: { trial_period_days: 14, billing_mode: { type: "classic" } },
      success_url: "http://app.test/done?s={CHECKOUT_SESSION_ID}",
      cancel_url: "http://app.test/cancel",
    });
    const page = await fetch(session.url!);
    expect(await page.text()).toContain("Start trial");
    const declined = await fetch(session.url!, { method: "POST", body: new URLSearchParams({ card: "4000 0000 0000 0002" }), redirect: "manual" });
    expect(declined.status).toBe(402);
    expect(await declined.text()).toContain("declined");
    const paid = await fetch(session.url!, { method: "POST", body: new URLSearchParams({ card: "4242 4242 4242 4242" }), redirect: "manual" });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`http://app.test/done?s=${session.id}`);
    const done = await stripe.checkout.sessions.retrieve(session.id);
    expect(done.status).toBe("complete");
    const sub = await stripe.subscriptions.retrieve(done.subscription as string);
    expect(sub.status).toBe("trialing");
    expect(sub.items.data[0].current_period_end - sub.items.data[0].current_period_start).toBe(14 * 86_400);
    await local.flushWebhooks();
    expect(eventsOf(customer.id)).toEqual(expect.arrayContaining(["customer.subscription.created", "invoice.created", "invoice.finalized", "invoice.paid"]));
    expect(received.find((e) => e.type === "checkout.session.completed" && (e.data.object as Stripe.Checkout.Session).id === session.id)).toBeTruthy();

    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: clock.frozen_time + 15 * 86_400 });
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe("active");
    const invoices = await stripe.invoices.list({ subscription: sub.id });
    expect(invoices.data.map((i) => [i.billing_reason, i.total, i.status])).toEqual([
      ["subscription_cycle", 2900, "paid"],
      ["subscription_create", 0, "paid"],
    ]);
    expect(invoices.data[0].parent?.subscription_details?.subscription).toBe(sub.id);
    const pdf = await fetch(invoices.data[0].invoice_pdf!);
    expect(pdf.headers.get("content-type")).toBe("application/pdf");
    expect((await pdf.text()).startsWith("%PDF-1.4")).toBe(true);
  });

  test("checkout sessions: listed by customer and status; only an open one expires, and then it cannot be paid", async () => {
    const price = await priceOf(4900);
    const { customer } = await customerOnClock();
    const open = () =>
      stripe.checkout.sessions.create({
        mode: "subscription",
        customer: customer.id,
        line_items: [{ price: price.id, quantity: 1 }],
        subscription_data: { billing_mode: { type: "classic" } },
        success_url: "http://app.test/done",
        cancel_url: "http://app.test/cancel",
      });
    const [a, b] = [await open(), await open()];
    const listed = await stripe.checkout.sessions.list({ customer: customer.id, status: "open" });
    expect(listed.data.map((s) => s.id)).toEqual([b.id, a.id]);
    expect(listed.data[0]).not.toHaveProperty("line_items_price");

    const expired = await stripe.checkout.sessions.expire(a.id);
    expect(expired).toMatchObject({ id: a.id, status: "expired", url: null });
    expect((await stripe.checkout.sessions.list({ customer: customer.id, status: "open" })).data.map((s) => s.id)).toEqual([b.id]);
    expect((await stripe.checkout.sessions.list({ customer: customer.id, status: "expired" })).data.map((s) => s.id)).toEqual([a.id]);
    const paid = await fetch(a.url!, { method: "POST", body: new URLSearchParams({ card: "4242 4242 4242 4242" }), redirect: "manual" });
    expect(paid.status).toBe(410);
    expect(await paid.text()).toContain("This checkout is expired.");
    expect((await stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(0);
    await local.flushWebhooks();
    expect(received.filter((e) => e.type === "checkout.session.expired").map((e) => (e.data.object as Stripe.Checkout.Session).id)).toEqual([a.id]);

    // Expiring again, or a completed session, is refused with Stripe's error; an unknown session is 404.
    const again = await stripe.checkout.sessions.expire(a.id).catch((e) => e);
    expect(again).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(again.statusCode).toBe(400);
    expect(again.message).toBe('Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of `expired`.');
    expect((await fetch(b.url!, { method: "POST", body: new URLSearchParams({ card: "4242 4242 4242 4242" }), redirect: "manual" })).status).toBe(303);
    const done = await stripe.checkout.sessions.expire(b.id).catch((e) => e);
    expect(done.statusCode).toBe(400);
    expect(done.message).toContain("has a status of `complete`");
    expect((await stripe.checkout.sessions.retrieve(b.id)).status).toBe("complete");
    const unknown = await stripe.checkout.sessions.expire("cs_test_missing").catch((e) => e);
    expect([unknown.statusCode, unknown.code]).toEqual([404, "resource_missing"]);
    const strict = await stripe.checkout.sessions.list({ customer: customer.id, status: "closed" } as never).catch((e) => e);
    expect([strict.statusCode, strict.code, strict.param]).toEqual([400, "parameter_invalid_string", "status"]);
  });

  test("renewal: a new period and a renewal invoice, a draft for an hour, then paid; a failed renewal makes it past_due", async () => {
    const price = await priceOf(9900);
    const { clock, customer } = await customerOnClock();
    await payWith(customer.id, "pm_card_visa");
    const sub = await stripe.subscriptions.create({ billing_mode: { type: "classic" }, customer: customer.id, items: [{ price: price.id }] });
    expect(sub.status).toBe("active");
    const firstEnd = sub.items.data[0].current_period_end;
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: firstEnd + 60 });
    const renewed = await stripe.subscriptions.retrieve(sub.id);
    expect(renewed.items.data[0].current_period_start).toBe(firstEnd);
    expect((await stripe.invoices.list({ subscription: sub.id })).data[0]).toMatchObject({
      billing_reason: "subscription_cycle",
      total: 9900,
      status: "draft",
      number: null, // numbered when finalized
      automatically_finalizes_at: firstEnd + 3600,
    });
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: firstEnd + 3600 });
    expect((await stripe.invoices.list({ subscription: sub.id })).data[0]).toMatchObject({
      billing_reason: "subscription_cycle",
      total: 9900,
      status: "paid",
      number: expect.stringMatching(/-0002$/),
    });
    await stripe.subscriptions.update(sub.id, { default_payment_method: (await payWith(customer.id, "pm_card_chargeCustomerFail")).id });
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: renewed.items.data[0].current_period_end + 3600 });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("past_due");
  });

  test("a failed first payment leaves the subscription incomplete", async () => {
    const price = await priceOf(2900);
    const { customer } = await customerOnClock();
    await payWith(customer.id, "pm_card_chargeCustomerFail");
    const sub = await stripe.subscriptions.create({
      billing_mode: { type: "classic" },
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "allow_incomplete",
    });
    expect(sub.status).toBe("incomplete");
  });

  test("an upgrade with always_invoice at a proration date bills exactly what the preview said, once per idempotency key", async () => {
    const starter = await priceOf(2900);
    const growth = await priceOf(9900);
    const { customer } = await customerOnClock(Math.floor(Date.UTC(2026, 2, 1) / 1000));
    await payWith(customer.id, "pm_card_visa");
    const sub = await stripe.subscriptions.create({ billing_mode: { type: "classic" }, customer: customer.id, items: [{ price: starter.id }] });
    const { current_period_start: s, current_period_end: e } = sub.items.data[0];
    const at = s + Math.floor((e - s) / 3);
    const preview = await stripe.invoices.createPreview({
      customer: customer.id,
      subscription: sub.id,
      subscription_details: { items: [{ id: sub.items.data[0].id, price: growth.id }], proration_date: at, proration_behavior: "always_invoice" },
    });
    const fraction = (e - at) / (e - s);
    expect(preview.lines.data.map((l) => l.amount)).toEqual([-Math.round(2900 * fraction), Math.round(9900 * fraction)]);
    const params = { items: [{ id: sub.items.data[0].id, price: growth.id }], proration_behavior: "always_invoice" as const, proration_date: at };
    await stripe.subscriptions.update(sub.id, params, { idempotencyKey: `up-${sub.id}` });
    await stripe.subscriptions.update(sub.id, params, { idempotencyKey: `up-${sub.id}` });
    const invoices = (await stripe.invoices.list({ subscription: sub.id })).data.filter((i) => i.billing_reason === "subscription_update");
    expect(invoices.length).toBe(1);
    expect(invoices[0].total).toBe(preview.total);
    expect(invoices[0].status).toBe("paid");
    const changed = await stripe.subscriptions.update(sub.id, { metadata: { x: "1" } }, { idempotencyKey: `up-${sub.id}` }).catch((err) => err);
    expect(changed.type).toBe("StripeIdempotencyError");
  });

  test("cancel at period end: canceled at the boundary with customer.subscription.deleted", async () => {
    const price = await priceOf(2900);
    const { clock, customer } = await customerOnClock();
    await payWith(customer.id, "pm_card_visa");
    const sub = await stripe.subscriptions.create({ billing_mode: { type: "classic" }, customer: customer.id, items: [{ price: price.id }] });
    await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: sub.items.data[0].current_period_end + 1 });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("canceled");
    await local.flushWebhooks();
    expect(eventsOf(customer.id)).toContain("customer.subscription.deleted");
  });

  test("a webhook answered 500 is retried until delivered; state survives a restart", async () => {
    failNext = 2;
    const customer = await stripe.customers.create({ email: "retry@example.com" });
    await local.flushWebhooks();
    expect(received.some((e) => e.type === "customer.created" && (e.data.object as Stripe.Customer).id === customer.id)).toBe(true);
    await local.stop();
    local = await start();
    stripe = new Stripe("sk_test_emulator", { host: "127.0.0.1", port: local.port, protocol: "http" });
    expect((await stripe.customers.retrieve(customer.id)).id).toBe(customer.id);
  });

  test("requests without an API key are refused like Stripe does", async () => {
    const r = await fetch(`${local.url}/v1/customers`);
    expect(r.status).toBe(401);
    expect(((await r.json()) as any).error.type).toBe("invalid_request_error");
  });
});
