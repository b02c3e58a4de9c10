// Test clocks advance like Stripe's: at most two intervals of the shortest subscription at a
// time (two years without subscriptions), answering `advancing` at once and becoming `ready` when everything due has run.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { addMonths } from "./account";
import { type StripeLocal, startStripeLocal } from "./index";

let local: StripeLocal;
let stripe: Stripe;

beforeAll(async () => {
  local = await startStripeLocal({ port: 0, databaseUrl: process.env.DATABASE_URL!, schema: "stripe_clocks_test" });
  stripe = new Stripe("sk_test_clocks", { host: "127.0.0.1", port: local.port, protocol: "http", maxNetworkRetries: 0 });
});
afterAll(async () => {
  await local.stop();
});

async function monthlyOnClock() {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2026, 0, 15) / 1000) });
  const customer = await stripe.customers.create({ email: "clock@example.com", test_clock: clock.id, payment_method: "pm_card_visa" });
  const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  const price = await stripe.prices.create({ currency: "usd", unit_amount: 1000, recurring: { interval: "month" }, product_data: { name: "Clock" } });
  const sub = await stripe.subscriptions.create({
    billing_mode: { type: "classic" },
    customer: customer.id,
    items: [{ price: price.id }],
    default_payment_method: pm.id,
  });
  return { clock, sub };
}

async function untilReady(id: string) {
  for (let i = 0; i < 200; i++) {
    const clock = await stripe.testHelpers.testClocks.retrieve(id);
    if (clock.status !== "advancing") return clock;
    await Bun.sleep(20);
  }
  throw new Error("the clock never became ready");
}

describe("test clocks", () => {
  test("a clock advances at most two intervals of its shortest subscription; Stripe's 400 beyond", async () => {
    const { clock } = await monthlyOnClock();
    const tooFar = await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: addMonths(clock.frozen_time, 2) + 1 }).catch((e) => e);
    expect([tooFar.statusCode, tooFar.rawType, tooFar.param]).toEqual([400, "invalid_request_error", "frozen_time"]);
    expect((await stripe.testHelpers.testClocks.retrieve(clock.id)).frozen_time).toBe(clock.frozen_time);
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: addMonths(clock.frozen_time, 2) });
    expect((await untilReady(clock.id)).frozen_time).toBe(addMonths(clock.frozen_time, 2));
  });

  test("a clock without subscriptions advances at most two years at a time; Stripe's 400 beyond", async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2026, 0, 15) / 1000) });
    const tooFar = await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: addMonths(clock.frozen_time, 24) + 1 }).catch((e) => e);
    expect([tooFar.statusCode, tooFar.rawType, tooFar.param]).toEqual([400, "invalid_request_error", "frozen_time"]);
    expect((await stripe.testHelpers.testClocks.retrieve(clock.id)).frozen_time).toBe(clock.frozen_time);
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: addMonths(clock.frozen_time, 24) });
    expect((await untilReady(clock.id)).frozen_time).toBe(addMonths(clock.frozen_time, 24));
  });

  test("the advance answers status advancing at once; the clock is ready with the renewal done afterwards", async () => {
    const { clock, sub } = await monthlyOnClock();
    const target = sub.items.data[0].current_period_end + 7200;
    const advancing = await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: target });
    expect(advancing.status).toBe("advancing");
    expect(advancing.status_details.advancing?.target_frozen_time).toBe(target);
    expect(advancing.frozen_time).toBe(clock.frozen_time);
    const ready = await untilReady(clock.id);
    expect([ready.status, ready.frozen_time]).toEqual(["ready", target]);
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data[0].current_period_start).toBe(sub.items.data[0].current_period_end);
  });
});
