// What the app asks Stripe for a plan's overage: a metered graduated price on the feature's meter,
// its first tier the included units at 0, then priceCents/per as an exact decimal (a price Stripe
// cannot write exactly is refused), and the item changes that move a subscription between plans.
import { describe, expect, test } from "bun:test";
import { DEFAULT_CATALOG } from "../platform/config.server";
import { meteredItemChanges, overagePriceParams, overageTermsOf, overageUnitDecimal } from "./stripe-overage.server";

describe("overage prices", () => {
  test("the default catalog: growth and pro per metered feature, none on starter or the trial", () => {
    expect(overageTermsOf("growth", DEFAULT_CATALOG).map((t) => [t.feature, t.included, t.priceCents, t.per])).toEqual([
      ["api_call", 250_000, 50, 1000],
      ["tokens", 25_000_000, 200, 1_000_000],
    ]);
    expect(overageTermsOf("pro", DEFAULT_CATALOG)).toHaveLength(2);
    expect(overageTermsOf("starter", DEFAULT_CATALOG)).toEqual([]);
    expect(overageTermsOf("trial", DEFAULT_CATALOG)).toEqual([]);
  });

  test("graduated on the meter: the included units free, then the exact decimal", () => {
    const [calls] = overageTermsOf("growth", DEFAULT_CATALOG);
    expect(overagePriceParams(calls, "mtr_1")).toEqual({
      currency: "usd",
      billing_scheme: "tiered",
      tiers_mode: "graduated",
      tiers: [
        { up_to: 250_000, unit_amount: 0 },
        { up_to: "inf", unit_amount_decimal: "0.05" as never },
      ],
      recurring: { interval: "month", usage_type: "metered", meter: "mtr_1" },
      lookup_key: "metered_overage_growth_api_call",
      product_data: { name: "Metered Growth api_call overage" },
      metadata: { plan_code: "growth", feature: "api_call", overage: "true" },
    });
    expect(overagePriceParams({ ...calls, included: 0 }, "mtr_1").tiers).toEqual([{ up_to: "inf", unit_amount_decimal: "0.05" as never }]);
    expect(overageUnitDecimal({ plan: "pro", feature: "tokens", priceCents: 150, per: 1_000_000 })).toBe("0.00015");
    expect(overageUnitDecimal({ plan: "x", feature: "y", priceCents: 300, per: 3 })).toBe("100");
    expect(() => overageUnitDecimal({ plan: "x", feature: "y", priceCents: 1, per: 3 })).toThrow(
      "plans.x.features.y.overage: 1 cents per 3 units is not a decimal of at most 12 places",
    );
  });

  test("a plan change moves each feature's item in place, removes what the target does not sell, adds what it does", () => {
    const current = [
      { id: "si_calls", priceId: "price_growth_calls", feature: "api_call" },
      { id: "si_tokens", priceId: "price_growth_tokens", feature: "tokens" },
    ];
    expect(
      meteredItemChanges(current, [
        { priceId: "price_pro_calls", feature: "api_call" },
        { priceId: "price_growth_tokens", feature: "tokens" },
      ]),
    ).toEqual([{ id: "si_calls", price: "price_pro_calls" }]);
    expect(meteredItemChanges(current, [])).toEqual([
      { id: "si_calls", deleted: true },
      { id: "si_tokens", deleted: true },
    ]);
    expect(meteredItemChanges([], [{ priceId: "price_pro_calls", feature: "api_call" }])).toEqual([{ price: "price_pro_calls" }]);
  });
});
