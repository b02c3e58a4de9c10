// Subscription schedules, dunning and the test cards of the local Stripe, through the official
// SDK and test clocks, with the events a webhook endpoint receives.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { type StripeLocal, startStripeLocal } from "./index";
import { eventReceiver } from "./test-support";

const SECRET = "whsec_subscriptionsTestSecret";
const { url, received } = eventReceiver(SECRET);

let local: StripeLocal;
let stripe: Stripe;
beforeAll(async () => {
  local = await startStripeLocal({
    port: 0,
    databaseUrl: process.env.DATABASE_URL!,
    schema: "stripe_subscriptions_test",
    webhook: { url, secret: SECRET },
    retrySchedule: [100, 200],
  });
  stripe = new Stripe("sk_test_subs", { host: "127.0.0.1", port: local.port, protocol: "http" });
});
afterAll(async () => {
  await local.stop();
});

const DAY = 86_400;
const priceOf = (amount: number) =>
  stripe.prices.create({ currency: "usd", unit_amount: amount, recurring: { interval: "month" }, product_data: { name: `Plan ${amount}` } });

async function subscribed(amount: number, card: "pm_card_visa" | "pm_card_chargeCustomerFail" = "pm_card_visa") {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2026, 2, 1, 12) / 1000) });
  const customer = await stripe.customers.create({ email: "s@example.com", test_clock: clock.id });
  const visa = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  const price = await priceOf(amount);
  const sub = await stripe.subscriptions.create({
    billing_mode: { type: "classic" },
    customer: customer.id,
    items: [{ price: price.id }],
    default_payment_method: visa.id,
  });
  if (card !== "pm_card_visa") {
    const failing = await stripe.paymentMethods.attach(card, { customer: customer.id });
    await stripe.subscriptions.update(sub.id, { default_payment_method: failing.id });
  }
  return { clock, customer, price, sub, end: sub.items.data[0].current_period_end };
}

/** A portal configuration that lets the customer update the card and cancel at the period end. */
const portalConfiguration = async () =>
  (
    await stripe.billingPortal.configurations.create({
      features: { payment_method_update: { enabled: true }, invoice_history: { enabled: true }, subscription_cancel: { enabled: true } },
    })
  ).id;
const advance = (clock: Stripe.TestHelpers.TestClock, to: number) => stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: to });
async function eventsOf(customer: string) {
  await local.flushWebhooks();
  return received.filter((e) => (e.data.object as { customer?: string }).customer === customer).map((e) => e.type);
}

describe("subscription schedules", () => {
  test("a downgrade as a schedule: the subscription keeps its price until the period end, then the renewal bills the lower one", async () => {
    const { clock, customer, sub, end } = await subscribed(29_900);
    const lower = await priceOf(9_900);
    const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    expect(schedule).toMatchObject({
      status: "active",
      end_behavior: "release",
      subscription: sub.id,
      current_phase: { start_date: sub.items.data[0].current_period_start, end_date: end },
    });
    expect(schedule.phases.map((p) => [p.items[0].price, p.start_date, p.end_date])).toEqual([
      [sub.items.data[0].price.id, sub.items.data[0].current_period_start, end],
    ]);
    expect((await stripe.subscriptions.retrieve(sub.id)).schedule).toBe(schedule.id);
    const updated = await stripe.subscriptionSchedules.update(schedule.id, {
      end_behavior: "release",
      proration_behavior: "none",
      phases: [
        { items: [{ price: sub.items.data[0].price.id }], start_date: schedule.phases[0].start_date, end_date: end },
        { items: [{ price: lower.id }], duration: { interval: "month", interval_count: 1 } },
      ],
    });
    expect(updated.phases[1]).toMatchObject({ start_date: end, items: [{ price: lower.id }] });
    // Stripe, its portal and any proration still see the current price.
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data[0].price.unit_amount).toBe(29_900);
    const upcoming = await stripe.invoices.createPreview({ customer: customer.id, subscription: sub.id });
    expect(upcoming.total).toBe(9_900);
    const portal = await stripe.billingPortal.sessions.create({ customer: customer.id, configuration: await portalConfiguration() });
    expect(await (await fetch(portal.url)).text()).toContain("$299.00 / month <span");
    expect(await (await fetch(portal.url)).text()).toContain("then Plan 9900 at $99.00 / month");

    await advance(clock, end + 3600);
    const renewed = await stripe.subscriptions.retrieve(sub.id);
    expect(renewed.items.data[0].price.id).toBe(lower.id);
    expect((await stripe.invoices.list({ subscription: sub.id })).data.map((i) => [i.billing_reason, i.total, i.status])).toEqual([
      ["subscription_cycle", 9_900, "paid"],
      ["subscription_create", 29_900, "paid"],
    ]);
    expect((await stripe.subscriptionSchedules.retrieve(schedule.id)).current_phase).toEqual({ start_date: end, end_date: updated.phases[1].end_date });
    const released = await stripe.subscriptionSchedules.release(schedule.id);
    expect(released).toMatchObject({ status: "released", released_subscription: sub.id, subscription: null });
    expect((await stripe.subscriptions.retrieve(sub.id)).schedule).toBeNull();
    expect(await eventsOf(customer.id)).toEqual(
      expect.arrayContaining(["subscription_schedule.created", "subscription_schedule.updated", "subscription_schedule.released"]),
    );
  });

  test("a schedule left alone releases itself after its last phase; one canceled cancels its subscription", async () => {
    const { clock, customer, sub, end } = await subscribed(2_900);
    const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    await advance(clock, end + 10);
    expect(await stripe.subscriptionSchedules.retrieve(schedule.id)).toMatchObject({ status: "released", released_subscription: sub.id });
    expect(await stripe.subscriptions.retrieve(sub.id)).toMatchObject({ status: "active", schedule: null });

    const other = await subscribed(2_900);
    const s2 = await stripe.subscriptionSchedules.create({ from_subscription: other.sub.id });
    expect((await stripe.subscriptionSchedules.cancel(s2.id)).status).toBe("canceled");
    expect((await stripe.subscriptions.retrieve(other.sub.id)).status).toBe("canceled");
    // A list leaves canceled subscriptions out unless asked for them, or for `all`.
    const listed = async (status?: "all" | "canceled") =>
      (await stripe.subscriptions.list({ customer: other.customer.id, ...(status ? { status } : {}) })).data.map((s) => s.id);
    expect([await listed(), await listed("canceled"), await listed("all")]).toEqual([[], [other.sub.id], [other.sub.id]]);
    expect(await eventsOf(other.customer.id)).toEqual(expect.arrayContaining(["subscription_schedule.canceled", "customer.subscription.deleted"]));
    expect(await eventsOf(customer.id)).toContain("subscription_schedule.released");
  });

  test("Stripe's refusals: a second schedule, a changed current phase start, a released schedule, cancel_at_period_end under a schedule", async () => {
    const { sub } = await subscribed(2_900);
    const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    const again = await stripe.subscriptionSchedules.create({ from_subscription: sub.id }).catch((e) => e);
    expect(again.message).toContain("already attached to a schedule");
    const moved = await stripe.subscriptionSchedules
      .update(schedule.id, {
        phases: [{ items: [{ price: sub.items.data[0].price.id }], start_date: schedule.phases[0].start_date + 1, end_date: schedule.phases[0].end_date }],
      })
      .catch((e) => e);
    expect(moved.message).toContain("start date of the current phase");
    const cancel = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true }).catch((e) => e);
    expect(cancel.message).toContain("managed by the subscription schedule");
    await stripe.subscriptionSchedules.release(schedule.id);
    const late = await stripe.subscriptionSchedules.update(schedule.id, { end_behavior: "cancel" }).catch((e) => e);
    expect([late.statusCode, late.message]).toEqual([400, expect.stringContaining("`released` status")]);
  });
});

describe("dunning", () => {
  test("a failing card: draft an hour, payment_failed, past_due, retries on days 3, 5, 7, then canceled", async () => {
    local.setDunning({ retryDays: [3, 5, 7], finalAction: "cancel" });
    const { clock, customer, sub, end } = await subscribed(2_900, "pm_card_chargeCustomerFail");
    await advance(clock, end + 60);
    const [draft] = (await stripe.invoices.list({ subscription: sub.id })).data;
    expect(draft).toMatchObject({ status: "draft", attempt_count: 0 });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("active");
    await advance(clock, end + 3600);
    const failed = await stripe.invoices.retrieve(draft.id);
    const first = end + 3600;
    expect(failed).toMatchObject({ status: "open", attempt_count: 1, next_payment_attempt: first + 3 * DAY });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("past_due");
    await advance(clock, first + 5 * DAY);
    expect(await stripe.invoices.retrieve(draft.id)).toMatchObject({ attempt_count: 3, next_payment_attempt: first + 7 * DAY });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("past_due");
    await advance(clock, first + 7 * DAY);
    expect(await stripe.subscriptions.retrieve(sub.id)).toMatchObject({ status: "canceled", cancellation_details: { reason: "payment_failed" } });
    expect(await stripe.invoices.retrieve(draft.id)).toMatchObject({ status: "open", attempt_count: 4, next_payment_attempt: null });
    const types = await eventsOf(customer.id);
    expect(types.filter((t) => t === "invoice.payment_failed").length).toBe(4);
    expect(types.at(-1)).toBe("customer.subscription.deleted");
  });

  test("with the unpaid setting the subscription ends unpaid; a new card pays the invoice and makes it active", async () => {
    local.setDunning({ retryDays: [2], finalAction: "unpaid" });
    const { clock, customer, sub, end } = await subscribed(2_900, "pm_card_chargeCustomerFail");
    await advance(clock, end + 3600 + 2 * DAY);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("unpaid");
    const session = await stripe.billingPortal.sessions.create({ customer: customer.id, configuration: await portalConfiguration() });
    const page = await fetch(session.url, { method: "POST", body: new URLSearchParams({ action: "card", card: "4242424242424242" }) });
    expect(await page.text()).toContain("Your card was updated.");
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("active");
    expect((await stripe.invoices.list({ subscription: sub.id })).data[0]).toMatchObject({ status: "paid", attempt_count: 3 });
    local.setDunning({ retryDays: [3, 5, 7], finalAction: "cancel" });
  });

  test("an incomplete subscription expires after 23 hours and its invoice is voided", async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2026, 2, 1) / 1000) });
    const customer = await stripe.customers.create({ test_clock: clock.id });
    const pm = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", { customer: customer.id });
    const sub = await stripe.subscriptions.create({
      billing_mode: { type: "classic" },
      customer: customer.id,
      items: [{ price: (await priceOf(2_900)).id }],
      default_payment_method: pm.id,
    });
    expect(sub.status).toBe("incomplete");
    await advance(clock, clock.frozen_time + 22 * 3600);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("incomplete");
    await advance(clock, clock.frozen_time + 23 * 3600);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("incomplete_expired");
    expect((await stripe.invoices.retrieve(sub.latest_invoice as string)).status).toBe("void");
  });

  test("4000 0000 0000 0002 is declined when attached; 4000 0000 0000 0341 attaches", async () => {
    const customer = await stripe.customers.create({ email: "cards@example.com" });
    const declined = await stripe.paymentMethods.attach("pm_card_chargeDeclined", { customer: customer.id }).catch((e) => e);
    expect(declined).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect([declined.statusCode, declined.code]).toEqual([402, "card_declined"]);
    expect((await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", { customer: customer.id })).card?.last4).toBe("0341");
  });
});

describe("yearly prices", () => {
  const yearly = (amount: number) =>
    stripe.prices.create({ currency: "usd", unit_amount: amount, recurring: { interval: "year" }, product_data: { name: `Yearly ${amount}` } });
  const invoicesOf = async (customer: string) =>
    (await stripe.invoices.list({ customer, limit: 100 })).data.reverse().map((i) => [i.total, i.billing_reason, i.lines.data.map((l) => l.description)]);

  test("a yearly price bills a year: a month on the clock renews nothing, a year renews at the yearly price", async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2027, 0, 31, 12) / 1000) });
    const customer = await stripe.customers.create({ email: "y@example.com", test_clock: clock.id });
    const visa = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    const price = await yearly(29_000);
    const sub = await stripe.subscriptions.create({
      billing_mode: { type: "classic" },
      customer: customer.id,
      items: [{ price: price.id }],
      default_payment_method: visa.id,
    });
    const start = sub.items.data[0].current_period_start;
    expect(sub.items.data[0].current_period_end).toBe(Date.UTC(2028, 0, 31, 12) / 1000);
    await advance(clock, Date.UTC(2027, 2, 1, 12) / 1000);
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data[0].current_period_start).toBe(start);
    await advance(clock, Date.UTC(2028, 0, 31, 14) / 1000);
    const renewed = (await stripe.subscriptions.retrieve(sub.id)).items.data[0];
    expect([renewed.current_period_start, renewed.current_period_end]).toEqual([Date.UTC(2028, 0, 31, 12) / 1000, Date.UTC(2029, 0, 31, 12) / 1000]);
    expect(await invoicesOf(customer.id)).toEqual([
      [29_000, "subscription_create", ["1 × Yearly 29000 (at $290.00 / year)"]],
      [29_000, "subscription_cycle", ["1 × Yearly 29000 (at $290.00 / year)"]],
    ]);
  });

  test("monthly → yearly resets the billing cycle: the month's unused time credited, the year invoiced now, as its preview", async () => {
    const { clock, customer, sub, end } = await subscribed(2_900);
    const price = await yearly(29_000);
    const at = sub.items.data[0].current_period_start + 10 * DAY;
    await advance(clock, at);
    const item = sub.items.data[0];
    const credit = -Math.round((2_900 * (end - at)) / (end - item.current_period_start));
    const preview = await stripe.invoices.createPreview({
      customer: customer.id,
      subscription: sub.id,
      subscription_details: { items: [{ id: item.id, price: price.id }], proration_date: at, proration_behavior: "always_invoice" },
    });
    expect(preview.lines.data.map((l) => l.amount)).toEqual([credit, 29_000]);
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, price: price.id }],
      proration_behavior: "always_invoice",
      proration_date: at,
    });
    expect(updated.billing_cycle_anchor).toBe(at);
    const year = updated.items.data[0];
    expect([year.current_period_start, year.current_period_end]).toEqual([at, at + 365 * DAY]);
    const invoices = await stripe.invoices.list({ customer: customer.id, limit: 1 });
    expect([invoices.data[0].total, invoices.data[0].billing_reason]).toEqual([preview.amount_due, "subscription_update"]);
    expect(preview.amount_due).toBe(29_000 + credit);
  });
});
