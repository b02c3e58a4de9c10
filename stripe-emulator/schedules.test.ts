// Subscription schedule phases as Stripe's pinned API version takes them, through the SDK:
// `iterations` is gone (since 2025-08-27, `duration` replaced it), `duration` and `end_date`
// exclude each other, the first phase names its `start_date`, and a phase's own
// `proration_behavior` (default `create_prorations`) is not the request's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { type StripeLocal, startStripeLocal } from "./index";

let local: StripeLocal;
let stripe: Stripe;
beforeAll(async () => {
  local = await startStripeLocal({ port: 0, databaseUrl: process.env.DATABASE_URL!, schema: "stripe_schedules_test" });
  stripe = new Stripe("sk_test_schedules", { host: "127.0.0.1", port: local.port, protocol: "http", maxNetworkRetries: 0 });
});
afterAll(async () => {
  await local.stop();
});

const priceOf = (amount: number) =>
  stripe.prices.create({ currency: "usd", unit_amount: amount, recurring: { interval: "month" }, product_data: { name: `Plan ${amount}` } });

async function scheduled() {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2026, 2, 1, 12) / 1000) });
  const customer = await stripe.customers.create({ email: "s@example.com", test_clock: clock.id });
  const visa = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  const [high, low] = [await priceOf(29_900), await priceOf(9_900)];
  const sub = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: high.id }],
    default_payment_method: visa.id,
    billing_mode: { type: "classic" },
  });
  const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
  const { start_date: start, end_date: end } = schedule.phases[0];
  return { schedule, high, low, start, end };
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: Stripe.errors.StripeError) => ({ status: e.statusCode, type: e.rawType, code: e.code, param: e.param, message: e.message }),
  );

describe("subscription schedule phases", () => {
  test("phases[].iterations is an unknown parameter (400 parameter_unknown), on update and on create", async () => {
    const { schedule, high, low, start, end } = await scheduled();
    const phases = [
      { items: [{ price: high.id }], start_date: start, end_date: end },
      { items: [{ price: low.id }], iterations: 1 },
    ] as unknown as Stripe.SubscriptionScheduleUpdateParams.Phase[];
    expect(await refusal(stripe.subscriptionSchedules.update(schedule.id, { phases }))).toMatchObject({
      status: 400,
      type: "invalid_request_error",
      code: "parameter_unknown",
      param: "phases[1][iterations]",
    });
    const create = { customer: "cus_x", phases: [{ items: [{ price: low.id }], iterations: 1 }] } as unknown as Stripe.SubscriptionScheduleCreateParams;
    expect(await refusal(stripe.subscriptionSchedules.create(create))).toMatchObject({
      status: 400,
      code: "parameter_unknown",
      param: "phases[0][iterations]",
    });
  });

  test("a new schedule's phases take no start_date (the schedule's start_date starts them)", async () => {
    const create = { customer: "cus_x", phases: [{ items: [{ price: "price_x" }], start_date: "now" }] } as unknown as Stripe.SubscriptionScheduleCreateParams;
    expect(await refusal(stripe.subscriptionSchedules.create(create))).toMatchObject({
      status: 400,
      code: "parameter_unknown",
      param: "phases[0][start_date]",
    });
  });

  test("end_date together with duration is refused; either alone is taken", async () => {
    const { schedule, high, low, start, end } = await scheduled();
    const both = await refusal(
      stripe.subscriptionSchedules.update(schedule.id, {
        phases: [
          { items: [{ price: high.id }], start_date: start, end_date: end },
          { items: [{ price: low.id }], end_date: end + 30 * 86_400, duration: { interval: "month", interval_count: 1 } },
        ],
      }),
    );
    expect(both).toMatchObject({ status: 400, type: "invalid_request_error", param: "phases[1][duration]" });
    expect(both!.message).toContain("duration, end_date");
    const updated = await stripe.subscriptionSchedules.update(schedule.id, {
      phases: [
        { items: [{ price: high.id }], start_date: start, end_date: end },
        { items: [{ price: low.id }], duration: { interval: "month", interval_count: 1 } },
      ],
    });
    expect(updated.phases.map((p) => [p.start_date, p.end_date > p.start_date])).toEqual([
      [start, true],
      [end, true],
    ]);
  });

  test("the first phase must name its start_date", async () => {
    const { schedule, high, low, end } = await scheduled();
    const missing = await refusal(
      stripe.subscriptionSchedules.update(schedule.id, {
        phases: [
          { items: [{ price: high.id }], end_date: end },
          { items: [{ price: low.id }], duration: { interval: "month", interval_count: 1 } },
        ],
      }),
    );
    expect(missing).toMatchObject({ status: 400, type: "invalid_request_error", param: "phases[0][start_date]" });
    expect((await stripe.subscriptionSchedules.retrieve(schedule.id)).phases).toHaveLength(1);
  });

  test("a phase's proration_behavior is its own (default create_prorations), not the request's", async () => {
    const { schedule, high, low, start, end } = await scheduled();
    const updated = await stripe.subscriptionSchedules.update(schedule.id, {
      proration_behavior: "none",
      phases: [
        { items: [{ price: high.id }], start_date: start, end_date: end },
        { items: [{ price: low.id }], duration: { interval: "month", interval_count: 1 } },
        { items: [{ price: high.id }], duration: { interval: "month", interval_count: 1 }, proration_behavior: "always_invoice" },
      ],
    });
    expect(updated.phases.map((p) => p.proration_behavior)).toEqual(["create_prorations", "create_prorations", "always_invoice"]);
  });
});
