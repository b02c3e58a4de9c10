// The local Stripe's billing meters are as strict as Stripe's, checked through the official SDK:
// repeated or over-long identifiers, timestamps outside Stripe's window, unaligned summary
// windows, and totals that lag the events.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { type StripeLocal, startStripeLocal } from "./index";

let local: StripeLocal;
let stripe: Stripe;
let meter: Stripe.Billing.Meter;

beforeAll(async () => {
  local = await startStripeLocal({ port: 0, databaseUrl: process.env.DATABASE_URL!, schema: "stripe_meters_test", meterLagMs: 0 });
  stripe = new Stripe("sk_test_emulator", { host: "127.0.0.1", port: local.port, protocol: "http", maxNetworkRetries: 0 });
  const name = `calls_${crypto.randomUUID().slice(0, 8)}`;
  meter = await stripe.billing.meters.create({
    display_name: "Calls",
    event_name: name,
    default_aggregation: { formula: "sum" },
    customer_mapping: { event_payload_key: "stripe_customer_id", type: "by_id" },
    value_settings: { event_payload_key: "value" },
  });
});
afterAll(async () => {
  await local.stop();
});

const now = () => Math.floor(Date.now() / 1000);
const minute = (t: number) => t - (t % 60);
const send = (customer: string, value: number, extra: { identifier?: string; timestamp?: number } = {}) =>
  stripe.billing.meterEvents.create({ event_name: meter.event_name, payload: { stripe_customer_id: customer, value: String(value) }, ...extra });
const total = async (customer: string, start = 0, end = minute(now()) + 600) =>
  (await stripe.billing.meters.listEventSummaries(meter.id, { customer, start_time: start, end_time: end })).data.reduce((s, x) => s + x.aggregated_value, 0);
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: Stripe.errors.StripeError) => e,
  );

describe("billing meters in the local Stripe", () => {
  test("a repeated identifier is refused with 400 invalid_request_error and counted once", async () => {
    const customer = (await stripe.customers.create({ email: "m@example.com" })).id;
    const identifier = `id_${crypto.randomUUID()}`;
    const first = await send(customer, 5, { identifier });
    expect(first).toMatchObject({ object: "billing.meter_event", identifier, event_name: meter.event_name, livemode: false });
    const again = await refusal(send(customer, 5, { identifier }));
    expect(again).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(again!.statusCode).toBe(400);
    expect(again!.rawType).toBe("invalid_request_error");
    expect(again!.message).toBe(`An event already exists with identifier ${identifier}.`);
    expect(await total(customer)).toBe(5);
  });

  test("an identifier over 100 characters is refused (param identifier); 100 is accepted", async () => {
    const customer = (await stripe.customers.create({ email: "m@example.com" })).id;
    const long = await refusal(send(customer, 1, { identifier: "x".repeat(101) }));
    expect(long).toMatchObject({ statusCode: 400, rawType: "invalid_request_error", param: "identifier" });
    await send(customer, 1, { identifier: `${crypto.randomUUID()}`.padEnd(100, "y") });
    expect(await total(customer)).toBe(1);
  });

  test("timestamps older than 35 days or over 5 minutes ahead of real time are refused (param timestamp), even on a test clock", async () => {
    const customer = (await stripe.customers.create({ email: "m@example.com" })).id;
    const old = await refusal(send(customer, 1, { timestamp: now() - 35 * 86_400 - 120 }));
    expect(old).toMatchObject({ statusCode: 400, rawType: "invalid_request_error", param: "timestamp" });
    expect(old!.message).toContain("35 days");
    const ahead = await refusal(send(customer, 1, { timestamp: now() + 6 * 60 }));
    expect(ahead).toMatchObject({ statusCode: 400, param: "timestamp" });
    await send(customer, 2, { timestamp: now() - 34 * 86_400 });
    await send(customer, 3, { timestamp: now() + 4 * 60 });
    expect(await total(customer)).toBe(5);
    // A customer whose test clock is a month ahead: the window is still real time.
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: now() + 31 * 86_400 });
    const onClock = (await stripe.customers.create({ email: "c@example.com", test_clock: clock.id })).id;
    expect(await refusal(send(onClock, 1, { timestamp: clock.frozen_time }))).toMatchObject({ statusCode: 400, param: "timestamp" });
    await send(onClock, 1, { timestamp: now() });
    expect(await total(onClock)).toBe(1);
  });

  test("summaries need start_time and end_time on minute boundaries", async () => {
    const customer = (await stripe.customers.create({ email: "m@example.com" })).id;
    const t = minute(now());
    const startOff = await refusal(stripe.billing.meters.listEventSummaries(meter.id, { customer, start_time: t + 1, end_time: t + 120 }));
    expect(startOff).toMatchObject({ statusCode: 400, rawType: "invalid_request_error", param: "start_time" });
    const endOff = await refusal(stripe.billing.meters.listEventSummaries(meter.id, { customer, start_time: 0, end_time: 4_000_000_000 }));
    expect(endOff).toMatchObject({ statusCode: 400, param: "end_time" });
    const summaries = await stripe.billing.meters.listEventSummaries(meter.id, { customer, start_time: t - 60, end_time: t + 120 });
    expect(summaries.data).toEqual([
      {
        id: expect.stringMatching(/^mtrusg_/),
        object: "billing.meter_event_summary",
        aggregated_value: 0,
        end_time: t + 120,
        livemode: false,
        meter: meter.id,
        start_time: t - 60,
      },
    ]);
  });

  test("a value must be a whole number (Stripe: «only accepts whole number values»); a negative one counts against the total", async () => {
    const customer = (await stripe.customers.create({ email: "m@example.com" })).id;
    for (const value of ["2.5", "1e3", "ten", ""]) {
      const bad = await refusal(stripe.billing.meterEvents.create({ event_name: meter.event_name, payload: { stripe_customer_id: customer, value } }));
      expect([value, bad?.statusCode, bad?.rawType, bad?.param]).toEqual([value, 400, "invalid_request_error", "payload[value]"]);
    }
    await send(customer, 10);
    await send(customer, -3);
    await send(customer, 0);
    expect(await total(customer)).toBe(7);
  });

  test("totals lag the events by the aggregation delay", async () => {
    const customer = (await stripe.customers.create({ email: "m@example.com" })).id;
    local.setMeterLag(1500);
    try {
      await send(customer, 7);
      expect(await total(customer)).toBe(0);
      await Bun.sleep(1600);
      expect(await total(customer)).toBe(7);
    } finally {
      local.setMeterLag(0);
    }
  });

  test("a meter reads back with every field of Stripe's type", async () => {
    const listed = (await stripe.billing.meters.list({ limit: 100 })).data.find((m) => m.id === meter.id)!;
    expect(Object.keys(listed).sort()).toEqual(
      [
        "created",
        "customer_mapping",
        "default_aggregation",
        "display_name",
        "event_name",
        "event_time_window",
        "id",
        "livemode",
        "object",
        "status",
        "status_transitions",
        "updated",
        "value_settings",
      ].sort(),
    );
  });
});
