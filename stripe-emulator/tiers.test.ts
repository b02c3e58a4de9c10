// Tiered and metered prices in the local Stripe, through the official SDK: the price's
// validation as Stripe documents it, and invoices that bill a meter's usage through graduated
// tiers, to the cent (half up, per line), at renewal, in the upcoming preview and after a
// schedule's phase change; a subscription without metered items is invoiced as before.
import { describe, expect, test } from "bun:test";
import type Stripe from "stripe";
import { localStripeForTests, refusal } from "./test-support";
import { tierCharges } from "./tiers";

const t = localStripeForTests("stripe_tiers_test", { meterLagMs: 0 });
const now = () => Math.floor(Date.now() / 1000);

async function meter(): Promise<Stripe.Billing.Meter> {
  const name = `calls_${crypto.randomUUID().slice(0, 8)}`;
  return t.stripe.billing.meters.create({
    display_name: "Calls",
    event_name: name,
    default_aggregation: { formula: "sum" },
    customer_mapping: { event_payload_key: "stripe_customer_id", type: "by_id" },
    value_settings: { event_payload_key: "value" },
  });
}

/** Graduated: the first `included` units free, then `decimal` cents each (growth's api_call: 0.05). */
const overagePrice = (m: Stripe.Billing.Meter, included: number, decimal: string, interval: "month" | "year" = "month") =>
  t.stripe.prices.create({
    currency: "usd",
    billing_scheme: "tiered",
    tiers_mode: "graduated",
    tiers: [
      { up_to: included, unit_amount: 0 },
      { up_to: "inf", unit_amount_decimal: decimal as never },
    ],
    recurring: { interval, usage_type: "metered", meter: m.id },
    product_data: { name: "API calls" },
  });
const flatPrice = (amount: number, interval: "month" | "year" = "month") =>
  t.stripe.prices.create({ currency: "usd", unit_amount: amount, recurring: { interval }, product_data: { name: `Plan ${amount}` } });

/** A customer on a test clock started at real time: meter events (checked against real time) fall in its first period. */
async function customerOnClock() {
  const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: now() - 60 });
  const customer = await t.stripe.customers.create({ email: "tiers@example.com", test_clock: clock.id });
  const pm = await t.stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  await t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  return { clock, customer };
}

const use = (m: Stripe.Billing.Meter, customer: string, value: number) =>
  t.stripe.billing.meterEvents.create({ event_name: m.event_name, payload: { stripe_customer_id: customer, value: String(value) }, timestamp: now() });

async function renewalOf(customer: string, clockId: string, to: number): Promise<Stripe.Invoice> {
  await t.stripe.testHelpers.testClocks.advance(clockId, { frozen_time: to });
  const invoices = await t.stripe.invoices.list({ customer, limit: 10 });
  const renewal = invoices.data.find((i) => i.billing_reason === "subscription_cycle");
  if (!renewal) throw new Error("no renewal invoice");
  return renewal;
}

const lineOf = (inv: Stripe.Invoice, priceId: string) => inv.lines.data.filter((l) => l.pricing?.price_details?.price === priceId);

describe("tiered prices are validated as Stripe documents them", () => {
  test("a graduated metered price reads back with its tiers when expanded, without them otherwise", async () => {
    const m = await meter();
    const price = await overagePrice(m, 250_000, "0.05");
    expect(price).toMatchObject({ billing_scheme: "tiered", tiers_mode: "graduated", unit_amount: null, unit_amount_decimal: null });
    expect(price.recurring).toMatchObject({ interval: "month", usage_type: "metered", meter: m.id });
    expect(price.tiers).toBeUndefined();
    const expanded = await t.stripe.prices.retrieve(price.id, { expand: ["tiers"] });
    // The SDK reads decimals into its Decimal type: compared as Stripe wrote them.
    expect(
      expanded.tiers?.map((x) => ({ ...x, flat_amount_decimal: String(x.flat_amount_decimal), unit_amount_decimal: String(x.unit_amount_decimal) })),
    ).toEqual([
      { flat_amount: null, flat_amount_decimal: "null", unit_amount: 0, unit_amount_decimal: "0", up_to: 250_000 },
      { flat_amount: null, flat_amount_decimal: "null", unit_amount: null, unit_amount_decimal: "0.05", up_to: null },
    ]);
  });

  test("refusals: missing tiers or tiers_mode, unit_amount beside tiers, bad up_to, decimals, meters", async () => {
    const m = await meter();
    const base = { currency: "usd", recurring: { interval: "month" as const, usage_type: "metered" as const, meter: m.id }, product_data: { name: "x" } };
    const cases: [Stripe.PriceCreateParams, string, string][] = [
      [{ ...base, billing_scheme: "tiered", tiers: [{ up_to: "inf", unit_amount: 1 }] }, "tiers_mode", "Missing required param: tiers_mode."],
      [{ ...base, billing_scheme: "tiered", tiers_mode: "graduated" }, "tiers", "Missing required param: tiers."],
      [
        { ...base, tiers_mode: "graduated", tiers: [{ up_to: "inf", unit_amount: 1 }] },
        "tiers",
        "Tiers may only be specified when billing_scheme is `tiered`.",
      ],
      [
        { ...base, billing_scheme: "tiered", tiers_mode: "graduated", unit_amount: 5, tiers: [{ up_to: "inf", unit_amount: 1 }] },
        "unit_amount",
        "unit_amount may not be specified when billing_scheme is `tiered`. Use tiers instead.",
      ],
      [
        { ...base, billing_scheme: "tiered", tiers_mode: "graduated", tiers: [{ up_to: 10, unit_amount: 0 }] },
        "tiers[0][up_to]",
        "The last tier must have up_to set to `inf`.",
      ],
      [
        {
          ...base,
          billing_scheme: "tiered",
          tiers_mode: "graduated",
          tiers: [
            { up_to: "inf", unit_amount: 0 },
            { up_to: "inf", unit_amount: 1 },
          ],
        },
        "tiers[0][up_to]",
        "Only the last tier may have up_to set to `inf`.",
      ],
      [
        {
          ...base,
          billing_scheme: "tiered",
          tiers_mode: "graduated",
          tiers: [
            { up_to: 10, unit_amount: 0 },
            { up_to: 10, unit_amount: 1 },
            { up_to: "inf", unit_amount: 2 },
          ],
        },
        "tiers[1][up_to]",
        "Each tier's up_to must be greater than the previous tier's up_to.",
      ],
      [
        { ...base, billing_scheme: "tiered", tiers_mode: "volume", tiers: [{ up_to: "inf", unit_amount: 1, unit_amount_decimal: "1.5" as never }] },
        "tiers[0][unit_amount]",
        "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
      ],
      [
        { ...base, billing_scheme: "tiered", tiers_mode: "volume", tiers: [{ up_to: "inf", unit_amount_decimal: "0.0000000000001" as never }] },
        "tiers[0][unit_amount_decimal]",
        "Invalid decimal: 0.0000000000001. Decimals may have at most 12 decimal places.",
      ],
      [
        { ...base, billing_scheme: "tiered", tiers_mode: "volume", tiers: [{ up_to: "inf" }] },
        "tiers[0][unit_amount]",
        "Each tier needs a unit_amount or a flat_amount: tiers[0] has neither.",
      ],
      [
        { ...base, recurring: { interval: "month", usage_type: "metered" }, unit_amount: 1 },
        "recurring[meter]",
        "Metered prices must be backed by a meter: set recurring[meter] to the id of a billing meter.",
      ],
      [
        { ...base, recurring: { interval: "month", meter: m.id }, unit_amount: 1 },
        "recurring[meter]",
        "recurring[meter] may only be set when recurring[usage_type] is `metered`.",
      ],
    ];
    for (const [params, param, message] of cases) {
      const err = await refusal(t.stripe.prices.create(params));
      expect({ status: err.statusCode, type: err.rawType, param: err.param, message: err.message }).toEqual({
        status: 400,
        type: "invalid_request_error",
        param,
        message,
      });
    }
    const unknownMeter = await refusal(t.stripe.prices.create({ ...base, recurring: { ...base.recurring, meter: "mtr_missing" }, unit_amount: 1 }));
    expect(unknownMeter).toMatchObject({ statusCode: 404, code: "resource_missing", param: "recurring[meter]" });
    const wrongType = await refusal(
      t.stripe.prices.create({ ...base, billing_scheme: "tiered", tiers_mode: "graduated", tiers: [{ up_to: "many" as never, unit_amount: 0 }] }),
    );
    expect(wrongType).toMatchObject({ statusCode: 400, code: "parameter_invalid_integer", param: "tiers[0][up_to]" });
  });

  test("a subscription's items share one interval, and a metered item takes no quantity", async () => {
    const m = await meter();
    const { customer } = await customerOnClock();
    const yearly = await flatPrice(99_000, "year");
    const monthlyOverage = await overagePrice(m, 100, "0.05");
    const mismatch = await refusal(
      t.stripe.subscriptions.create({ billing_mode: { type: "classic" }, customer: customer.id, items: [{ price: yearly.id }, { price: monthlyOverage.id }] }),
    );
    expect(mismatch.message).toBe("Currency and interval fields must match across all plans on this subscription. Found mismatch in interval field.");
    const flat = await flatPrice(9900);
    const quantity = await refusal(
      t.stripe.subscriptions.create({
        billing_mode: { type: "classic" },
        customer: customer.id,
        items: [{ price: flat.id }, { price: monthlyOverage.id, quantity: 1 }],
      }),
    );
    expect(quantity).toMatchObject({ statusCode: 400, param: "items[1][quantity]" });
  });
});

describe("invoices bill metered usage through the tiers", () => {
  test("graduated lines per tier, each rounded half up (Stripe's 0.05 × 30 = 1.5 → 2)", () => {
    const tiers = {
      mode: "graduated" as const,
      tiers: [
        { upTo: 100, unit: "0", flat: null },
        { upTo: null, unit: String(5n * 10n ** 10n), flat: null },
      ],
    };
    expect(tierCharges(tiers, 130).map((c) => c.amount)).toEqual([0, 2]);
    expect(tierCharges(tiers, 129).map((c) => c.amount)).toEqual([0, 1]);
    expect(tierCharges(tiers, 50)).toEqual([{ tier: 1, quantity: 50, unit: 0n, amount: 0 }]);
    expect(tierCharges({ ...tiers, mode: "volume" }, 130)).toEqual([{ tier: 2, quantity: 130, unit: 5n * 10n ** 10n, amount: 7 }]);
  });

  test("a renewal after overage bills the flat price in advance and the period's usage past the first tier, to the cent", async () => {
    const m = await meter();
    const { clock, customer } = await customerOnClock();
    const flat = await flatPrice(9900);
    const overage = await overagePrice(m, 1000, "0.05");
    const sub = await t.stripe.subscriptions.create({
      billing_mode: { type: "classic" },
      customer: customer.id,
      items: [{ price: flat.id }, { price: overage.id }],
    });
    expect(sub.status).toBe("active");
    expect(sub.items.data.map((i) => [i.price.id, i.quantity])).toEqual([
      [flat.id, 1],
      [overage.id, undefined],
    ]);
    const first = await t.stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(first.total).toBe(9900);
    // 1000 included, 1331 past them: 1331 × 0.05 = 66.55 cents → 67.
    await use(m, customer.id, 1500);
    await use(m, customer.id, 831);
    const preview = await t.stripe.invoices.createPreview({ customer: customer.id, subscription: sub.id });
    expect(lineOf(preview, overage.id).map((l) => [l.quantity, l.amount])).toEqual([
      [1000, 0],
      [1331, 67],
    ]);
    const end = sub.items.data[0].current_period_end;
    const renewal = await renewalOf(customer.id, clock.id, end + 3601);
    expect(renewal.status).toBe("paid");
    const metered = lineOf(renewal, overage.id);
    expect(metered.map((l) => [l.quantity, l.amount, l.period.start, l.period.end])).toEqual([
      [1000, 0, sub.items.data[1].current_period_start, end],
      [1331, 67, sub.items.data[1].current_period_start, end],
    ]);
    expect(metered[1].description).toBe("API calls (Tier 2 at $0.0005 / month)");
    expect(String(metered[1].pricing?.unit_amount_decimal)).toBe("0.05");
    expect(renewal.total).toBe(9900 + 67);
    // The new period starts with nothing used.
    const next = await t.stripe.invoices.createPreview({ customer: customer.id, subscription: sub.id });
    expect(lineOf(next, overage.id).map((l) => l.amount)).toEqual([0]);
  });

  test("a subscription without metered items renews with its flat line only", async () => {
    const { clock, customer } = await customerOnClock();
    const flat = await flatPrice(2900);
    const sub = await t.stripe.subscriptions.create({ billing_mode: { type: "classic" }, customer: customer.id, items: [{ price: flat.id }] });
    const renewal = await renewalOf(customer.id, clock.id, sub.items.data[0].current_period_end + 3601);
    expect(renewal.lines.data.map((l) => [l.amount, l.description])).toEqual([[2900, "1 × Plan 2900 (at $29.00 / month)"]]);
    expect(renewal.total).toBe(2900);
  });

  test("an upgrade moves the metered item in place; a downgrade's schedule bills the ending period at the old tiers", async () => {
    const m = await meter();
    const { clock, customer } = await customerOnClock();
    const [low, high] = [await flatPrice(9900), await flatPrice(29_900)];
    const [lowOverage, highOverage] = [await overagePrice(m, 100, "0.05"), await overagePrice(m, 1000, "0.04")];
    let sub = await t.stripe.subscriptions.create({
      billing_mode: { type: "classic" },
      customer: customer.id,
      items: [{ price: low.id }, { price: lowOverage.id }],
    });
    const meteredId = sub.items.data[1].id;
    sub = await t.stripe.subscriptions.update(sub.id, {
      items: [
        { id: sub.items.data[0].id, price: high.id },
        { id: meteredId, price: highOverage.id },
      ],
      proration_behavior: "always_invoice",
    });
    expect(sub.items.data.map((i) => [i.id, i.price.id])).toEqual([
      [sub.items.data[0].id, high.id],
      [meteredId, highOverage.id],
    ]);
    // The upgrade's invoice prorates the flat prices only: metered usage is billed in arrears.
    const upgrade = await t.stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(lineOf(upgrade, highOverage.id)).toEqual([]);
    await use(m, customer.id, 1200);
    // Downgrade at the period end: the schedule's next phase holds the lower prices.
    const schedule = await t.stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    const end = sub.items.data[0].current_period_end;
    await t.stripe.subscriptionSchedules.update(schedule.id, {
      end_behavior: "release",
      proration_behavior: "none",
      phases: [
        { items: [{ price: high.id }, { price: highOverage.id }], start_date: schedule.phases[0].start_date, end_date: end },
        { items: [{ price: low.id }, { price: lowOverage.id }], duration: { interval: "month", interval_count: 1 } },
      ],
    });
    const renewal = await renewalOf(customer.id, clock.id, end + 3601);
    // The ending period at the high tiers: 1200 − 1000 = 200 × 0.04 = 8 cents; the low flat price in advance.
    expect(lineOf(renewal, highOverage.id).map((l) => [l.quantity, l.amount])).toEqual([
      [1000, 0],
      [200, 8],
    ]);
    expect(lineOf(renewal, lowOverage.id)).toEqual([]);
    expect(renewal.total).toBe(9900 + 8);
    const after = await t.stripe.subscriptions.retrieve(sub.id);
    expect(after.items.data.map((i) => i.price.id)).toEqual([low.id, lowOverage.id]);
    expect(after.items.data[1].current_period_start).toBe(end);
  });

  test("moving to a yearly price removes the metered item: its usage so far is on the change's invoice, as previewed", async () => {
    const m = await meter();
    const { customer } = await customerOnClock();
    const [monthly, yearly] = [await flatPrice(9900), await flatPrice(99_000, "year")];
    const overage = await overagePrice(m, 100, "0.05");
    const sub = await t.stripe.subscriptions.create({
      billing_mode: { type: "classic" },
      customer: customer.id,
      items: [{ price: monthly.id }, { price: overage.id }],
    });
    await use(m, customer.id, 150); // 50 past the first tier: 2.5 → 3 cents
    const items = [
      { id: sub.items.data[0].id, price: yearly.id },
      { id: sub.items.data[1].id, deleted: true },
    ];
    const keptMetered = await refusal(
      t.stripe.invoices.createPreview({
        customer: customer.id,
        subscription: sub.id,
        subscription_details: { items: items.slice(0, 1), proration_behavior: "always_invoice" },
      }),
    );
    expect(keptMetered.message).toBe("Currency and interval fields must match across all plans on this subscription. Found mismatch in interval field.");
    const preview = await t.stripe.invoices.createPreview({
      customer: customer.id,
      subscription: sub.id,
      subscription_details: { items, proration_behavior: "always_invoice" },
    });
    expect(lineOf(preview, overage.id).map((l) => l.amount)).toEqual([0, 3]);
    const updated = await t.stripe.subscriptions.update(sub.id, { items, proration_behavior: "always_invoice" });
    expect(updated.items.data.map((i) => i.price.id)).toEqual([yearly.id]);
    const invoice = await t.stripe.invoices.retrieve(updated.latest_invoice as string);
    expect(lineOf(invoice, overage.id).map((l) => l.amount)).toEqual([0, 3]);
    expect(invoice.amount_due).toBe(preview.amount_due);
  });

  test("Checkout takes a metered line item without quantity and the subscription carries it", async () => {
    const m = await meter();
    const { customer } = await customerOnClock();
    const flat = await flatPrice(9900);
    const overage = await overagePrice(m, 100, "0.05");
    const session = await t.stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      line_items: [{ price: flat.id, quantity: 1 }, { price: overage.id }],
      subscription_data: { billing_mode: { type: "classic" } },
      success_url: "http://example.com/ok",
      cancel_url: "http://example.com/no",
    });
    expect(session.amount_total).toBe(9900);
    const paid = await fetch(session.url!, { method: "POST", body: new URLSearchParams({ card: "4242424242424242" }), redirect: "manual" });
    expect(paid.status).toBe(303);
    const done = await t.stripe.checkout.sessions.retrieve(session.id);
    const sub = await t.stripe.subscriptions.retrieve(done.subscription as string);
    expect(sub.items.data.map((i) => i.price.id)).toEqual([flat.id, overage.id]);
  });
});
