// The pinned API version's billing mode. Since 2025-09-30.clover Stripe creates subscriptions
// (directly, from Checkout, and their schedules) in `billing_mode: flexible` unless the request
// names `classic`. The local Stripe computes classic only: it refuses what would be flexible and
// creates what is asked for as classic, so an app that forgets to pin the mode fails here too.
import { describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { localStripeForTests, refusal } from "./test-support";

const file = localStripeForTests("stripe_billing_mode_test");

async function customerWithCard() {
  const { stripe } = file;
  const price = await stripe.prices.create({ currency: "usd", unit_amount: 1000, recurring: { interval: "month" }, product_data: { name: "Mode" } });
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2026, 0, 15) / 1000) });
  const customer = await stripe.customers.create({ email: "mode@example.com", test_clock: clock.id });
  const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  return { price, customer, pm };
}

describe("billing_mode under the pinned API version", () => {
  test("the SDK pins a version after 2025-09-30.clover, where flexible is the default", () => {
    expect(Stripe.API_VERSION >= "2025-09-30").toBe(true);
  });

  test("a subscription without billing_mode would be flexible: refused, naming the parameter; flexible too; classic is made classic", async () => {
    const { stripe } = file;
    const { price, customer, pm } = await customerWithCard();
    const base = { customer: customer.id, items: [{ price: price.id }], default_payment_method: pm.id };
    for (const params of [base, { ...base, billing_mode: { type: "flexible" as const } }]) {
      const err = await refusal(stripe.subscriptions.create(params));
      expect([err.statusCode, err.rawType, err.param]).toEqual([400, "invalid_request_error", "billing_mode[type]"]);
      expect(err.message).toContain("billing_mode[type]=classic");
    }
    expect((await stripe.subscriptions.list({ customer: customer.id, status: "all" })).data).toEqual([]);
    const sub = await stripe.subscriptions.create({ ...base, billing_mode: { type: "classic" } });
    expect(sub.billing_mode.type).toBe("classic");
    const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    expect(schedule.billing_mode.type).toBe("classic");
  });

  test("Checkout in subscription mode: without subscription_data[billing_mode] refused; classic is paid into a classic subscription", async () => {
    const { stripe } = file;
    const { price, customer } = await customerWithCard();
    const params: Stripe.Checkout.SessionCreateParams = {
      mode: "subscription",
      customer: customer.id,
      line_items: [{ price: price.id, quantity: 1 }],
      success_url: "http://app.test/done",
      cancel_url: "http://app.test/cancel",
    };
    const err = await refusal(stripe.checkout.sessions.create(params));
    expect([err.statusCode, err.param]).toEqual([400, "subscription_data[billing_mode][type]"]);
    const session = await stripe.checkout.sessions.create({ ...params, subscription_data: { billing_mode: { type: "classic" } } });
    const paid = await fetch(session.url!, { method: "POST", body: new URLSearchParams({ card: "4242424242424242" }), redirect: "manual" });
    expect(paid.status).toBe(303);
    const done = await stripe.checkout.sessions.retrieve(session.id);
    expect((await stripe.subscriptions.retrieve(done.subscription as string)).billing_mode.type).toBe("classic");
  });
});
