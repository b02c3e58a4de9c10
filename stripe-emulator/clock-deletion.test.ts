// Stripe deletes a test clock at its `deletes_after`, and with it every object on it: the
// customers (a retrieve then answers a deleted customer), their subscriptions, schedules,
// invoices, payment methods and sessions (resource_missing). The local Stripe does the same, at
// the lifetime Stripe's reference shows (7 days; shorter here), and on DELETE.
import { describe, expect, test } from "bun:test";
import type Stripe from "stripe";
import { localStripeForTests, refusal } from "./test-support";

const LIFETIME = 3;
// One local Stripe with Stripe's lifetime, one whose clocks live LIFETIME seconds (own schemas).
const withStripesLifetime = localStripeForTests("stripe_clock_deletion_test");
const shortLived = localStripeForTests("stripe_clock_deletion_short_test", { testClockLifetimeSeconds: LIFETIME });
let stripe: Stripe;
const missing = async (p: Promise<unknown>) => {
  const err = await refusal(p);
  return [err.statusCode, err.code];
};

/** A customer on a new clock with a paid subscription, its schedule, invoice and card; and one off any clock. */
async function world() {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2026, 0, 15) / 1000) });
  const price = await stripe.prices.create({ currency: "usd", unit_amount: 1000, recurring: { interval: "month" }, product_data: { name: "Doomed" } });
  const customer = await stripe.customers.create({ email: "clock@example.com", test_clock: clock.id });
  const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  const sub = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: price.id }],
    default_payment_method: pm.id,
    billing_mode: { type: "classic" },
  });
  const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
  const bystander = await stripe.customers.create({ email: "bystander@example.com" });
  return { clock, price, customer, pm, sub, schedule, invoice: sub.latest_invoice as string, bystander };
}

async function gone(w: Awaited<ReturnType<typeof world>>) {
  expect(await missing(stripe.testHelpers.testClocks.retrieve(w.clock.id))).toEqual([404, "resource_missing"]);
  expect(await stripe.customers.retrieve(w.customer.id)).toEqual({ id: w.customer.id, object: "customer", deleted: true } as never);
  expect(await missing(stripe.subscriptions.retrieve(w.sub.id))).toEqual([404, "resource_missing"]);
  expect(await missing(stripe.subscriptionSchedules.retrieve(w.schedule.id))).toEqual([404, "resource_missing"]);
  expect(await missing(stripe.invoices.retrieve(w.invoice))).toEqual([404, "resource_missing"]);
  expect(await missing(stripe.paymentMethods.retrieve(w.pm.id))).toEqual([404, "resource_missing"]);
  expect((await stripe.subscriptions.list({ customer: w.customer.id, status: "all" })).data).toEqual([]);
  // A deleted customer takes nothing new.
  const subscribe = await refusal(stripe.subscriptions.create({ customer: w.customer.id, items: [{ price: w.price.id }], billing_mode: { type: "classic" } }));
  expect([subscribe.statusCode, subscribe.code, subscribe.param]).toEqual([404, "resource_missing", "customer"]);
  expect(await missing(stripe.billingPortal.sessions.create({ customer: w.customer.id }))).toEqual([404, "resource_missing"]);
  expect(await missing(stripe.customers.update(w.customer.id, { name: "Again" }))).toEqual([404, "resource_missing"]);
  // Objects on no clock are untouched.
  expect((await stripe.customers.retrieve(w.bystander.id)).deleted).toBeUndefined();
  const deleted = await stripe.events.list({ type: "test_helpers.test_clock.deleted" });
  expect(deleted.data.map((e) => (e.data.object as { id: string }).id)).toContain(w.clock.id);
}

describe("test clocks are deleted with their objects", () => {
  test("a clock is stamped to be deleted 7 days after its creation, as in Stripe's reference", async () => {
    stripe = withStripesLifetime.stripe;
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2026, 0, 15) / 1000) });
    expect(clock.deletes_after - clock.created).toBe(7 * 86_400);
  });

  test("at deletes_after the clock, its customers' subscriptions, schedules, invoices and cards are gone; the customers are deleted", async () => {
    stripe = shortLived.stripe;
    const w = await world();
    expect(w.clock.deletes_after - w.clock.created).toBe(LIFETIME);
    const deadline = Date.now() + 15_000;
    while (
      (await stripe.testHelpers.testClocks.retrieve(w.clock.id).then(
        () => true,
        () => false,
      )) &&
      Date.now() < deadline
    )
      await Bun.sleep(50);
    expect(Date.now() / 1000).toBeGreaterThanOrEqual(w.clock.deletes_after);
    await gone(w);
  });

  test("DELETE deletes a clock at once, the same way", async () => {
    stripe = withStripesLifetime.stripe;
    const w = await world();
    expect(await stripe.testHelpers.testClocks.del(w.clock.id)).toEqual({ id: w.clock.id, object: "test_helpers.test_clock", deleted: true } as never);
    await gone(w);
    expect(await missing(stripe.testHelpers.testClocks.del(w.clock.id))).toEqual([404, "resource_missing"]);
  });
});
