// The catalog file's schema: the shipped default is exactly issue 22's table, every error is named
// by its path, today's PLANS_CONFIG shape is converted, and the diff names what changed.
import { describe, expect, test } from "bun:test";
import defaultCatalog from "../../../catalog/default.json";
import { CatalogInvalid, contentOf, diffCatalogs, parseCatalog, parseCatalogText } from "./catalog.server";

const issuesOf = (input: unknown) => {
  try {
    parseCatalog(input);
  } catch (err) {
    if (err instanceof CatalogInvalid) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
};
const copy = () => structuredClone(defaultCatalog) as unknown as Record<string, any>;

describe("the catalog file", () => {
  test("the shipped default validates and keeps the seed's four plan codes", () => {
    const c = contentOf(parseCatalog(defaultCatalog));
    expect(Object.keys(c.plans).sort()).toEqual(["growth", "pro", "starter", "trial"]);
    expect(c.plans.growth.features.api_call).toEqual({ included: 250_000, overage: { priceCents: 50, per: 1000, interval: "month" } });
    expect(c.plans.pro.features.seats).toEqual({ limit: null });
  });

  test("every error is named by its path, all of one stage at once", () => {
    const bad = copy();
    bad.plans.growth.features.seats = { limit: "ten" };
    bad.plans.pro.features.sso = { included: 1 };
    bad.plans.growth.features.nope = true;
    bad.plans.trial.priceOf = "gold";
    bad.plans.growth.features.api_call.overage.interval = "year";
    bad.topUps.sso = { units: 1, priceCents: 100 };
    delete bad.features.tokens.unit;
    expect(issuesOf(bad).sort()).toEqual(
      [
        'features.tokens.unit: a metered feature names its unit, e.g. "token"',
        'plans.trial.priceOf: names an unknown plan "gold"',
        'plans.growth.features.api_call.overage.interval: metered: overage is offered on monthly prices only: "month"',
        "plans.growth.features.seats.limit: numeric: Invalid input: expected number, received string",
        'plans.growth.features.nope: "nope" is not a feature of the catalog (features.nope)',
        "plans.pro.features.sso: boolean: Invalid input: expected boolean, received object",
        'topUps.sso: top-ups are of metered features; "sso" is not one',
      ].sort(),
    );
  });

  test("structural errors name their path too: a negative amount, an unknown field, a bad type or code", () => {
    const bad = copy();
    bad.plans.growth.prices.month = -1;
    bad.plans.starter.colour = "blue";
    bad.features.tokens.type = "meter";
    bad.plans["Bad Code"] = bad.plans.pro;
    expect(issuesOf(bad)).toEqual(
      expect.arrayContaining([
        "plans.growth.prices.month: Too small: expected number to be >=0",
        "plans.starter.colour: unknown field",
        'features.tokens.type: Invalid option: expected one of "metered"|"boolean"|"numeric"',
      ]),
    );
    expect(issuesOf(bad).some((i) => i.startsWith("plans.Bad Code: a code is 1–40 of a-z 0-9 _"))).toBe(true);
    expect(issuesOf({ features: {}, plans: {} })).toEqual(["plans: a catalog has at least one plan"]);
    expect(issuesOf({ ...copy(), plans: { solo: { name: "Solo", currency: "usd", features: {} } } })).toEqual([
      "plans.solo.prices: required: { month, year? } in minor units (or priceOf for a trial)",
    ]);
  });

  test("a catalog sells in one currency: a plan or top-up in another is named by its path", () => {
    const mixed = copy();
    mixed.plans.pro.currency = "eur";
    mixed.topUps.tokens.currency = "gbp";
    expect(issuesOf(mixed)).toEqual([
      "plans.pro.currency: every plan and top-up is sold in usd",
      "topUps.tokens.currency: every plan and top-up is sold in usd",
    ]);
    // A trial is billed at its priceOf's price, so it shares that plan's currency like any other.
    const trial = copy();
    trial.plans.trial.currency = "eur";
    expect(issuesOf(trial)).toEqual(["plans.trial.currency: every plan and top-up is sold in usd"]);
    // Top-ups default to usd: a catalog in another currency names theirs.
    const euros = copy();
    for (const plan of Object.keys(euros.plans)) euros.plans[plan].currency = "eur";
    delete euros.topUps.api_call.currency;
    euros.topUps.tokens.currency = "eur";
    expect(issuesOf(euros)).toEqual(["topUps.api_call.currency: every plan and top-up is sold in eur"]);
  });

  test("a NUL character in a name or unit is named by its path (Stripe refuses it in any string)", () => {
    const bad = copy();
    bad.plans.pro.name = "Pro\u0000";
    bad.features.tokens.unit = "to\u0000ken";
    expect(issuesOf(bad).sort()).toEqual([
      "features.tokens.unit: Stripe refuses the NUL character (\\u0000) in text",
      "plans.pro.name: Stripe refuses the NUL character (\\u0000) in text",
    ]);
  });

  test("a key written twice in one object is named by its path, not silently the last one kept", () => {
    const text = JSON.stringify(defaultCatalog, null, "\t")
      // a second growth plan after the first, at a lower price, and tokens' unit twice
      .replace('"plans": {', '"plans": {\n\t\t"growth": {"name": "Growth", "currency": "usd", "prices": {"month": 100}, "features": {}},')
      .replace('"unit": "token"', '"unit": "token", "unit": "tokens"');
    expect(JSON.parse(text).plans.growth.prices.month).toBe(9900); // what JSON.parse alone would publish
    let refused: unknown;
    try {
      parseCatalogText(text);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(CatalogInvalid);
    expect((refused as CatalogInvalid).issues.map((i) => i.path).sort()).toEqual(["features.tokens.unit", "plans.growth"]);
    expect((refused as CatalogInvalid).message).toContain("plans.growth: is written twice in one object");
    // A key is compared as JSON reads it: `a\u0062` is `ab`.
    expect(() => parseCatalogText('{"features": {"a\\u0062": {"type": "boolean"}, "ab": {"type": "boolean"}}, "plans": {}}')).toThrow(
      /features\.ab: is written twice/,
    );
    expect(parseCatalogText(JSON.stringify(defaultCatalog))).toEqual(parseCatalog(defaultCatalog));
    expect(() => parseCatalogText("{oops")).toThrow(SyntaxError);
  });

  test("any number of plans with any codes; features left out are not granted", () => {
    const c = parseCatalog({
      features: { api_call: { type: "metered", unit: "call" }, sso: { type: "boolean" } },
      plans: {
        hobby: { name: "Hobby", currency: "eur", prices: { month: 0 } },
        team: { name: "Team", currency: "eur", prices: { month: 4900 }, features: { sso: true } },
      },
    });
    expect(c.plans.hobby.features).toEqual({});
    expect(c.topUps).toEqual({});
  });

  test("today's PLANS_CONFIG shape is converted: api_call its one feature, the trial on its priceOf", () => {
    const c = contentOf(
      parseCatalog({
        trial: { name: "Trial", priceMonthly: 2900, currency: "usd", includedUnits: { api_call: 1000 }, trialDays: 14, priceOf: "starter" },
        starter: { name: "Starter", priceMonthly: 2900, currency: "USD", includedUnits: { api_call: 50_000 }, stripePriceId: "price_123" },
      }),
    );
    expect(c).toEqual({
      features: { api_call: { type: "metered", unit: "call" } },
      plans: {
        starter: {
          name: "Starter",
          currency: "usd",
          prices: { month: 2900 },
          features: { api_call: { included: 50_000 } },
          stripePriceIds: { month: "price_123" },
        },
        trial: { name: "Trial", currency: "usd", trialDays: 14, priceOf: "starter", features: { api_call: { included: 1000 } } },
      },
      topUps: {},
    });
    expect(issuesOf({ starter: { name: "S", priceMonthly: "29", currency: "usd", includedUnits: { api_call: 10 } } })).toEqual([
      "starter.priceMonthly: Invalid input: expected number, received string",
    ]);
  });

  test("the diff names every changed, added and removed leaf by path", () => {
    const from = contentOf(parseCatalog(defaultCatalog));
    const next = copy();
    next.plans.growth.prices.month = 10_900;
    next.plans.team = { name: "Team", currency: "usd", prices: { month: 4900 } };
    delete next.topUps.tokens;
    expect(diffCatalogs(from, contentOf(parseCatalog(next)))).toEqual([
      { path: "plans.growth.prices.month", from: 9900, to: 10_900 },
      { path: "plans.team", to: { name: "Team", currency: "usd", prices: { month: 4900 }, features: {} } },
      { path: "topUps.tokens", from: { units: 1_000_000, priceCents: 500, currency: "usd" } },
    ]);
  });
});
