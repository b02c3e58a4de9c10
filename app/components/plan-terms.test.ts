// The catalog's features as the billing page states them, from the shipped default catalog.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCatalog } from "~/server/domain/catalog.server";
import { allowancesOf, featureChanges, featureLabel, planTerms, yearlySaving } from "./plan-terms";

const catalog = parseCatalog(JSON.parse(readFileSync(join(import.meta.dir, "../../catalog/default.json"), "utf8")));
const { features, plans } = catalog;

test("a plan card lists every feature of the catalog: metered units a month, numeric limits (unlimited), boolean yes/no", () => {
  expect(planTerms(features, plans.starter!.features).map((t) => `${t.label}: ${t.value}`)).toEqual([
    "API calls: 50,000 calls a month",
    "Tokens: 5,000,000 tokens a month",
    "Seats: 3",
    "SSO: No",
    "Webhooks: Yes",
  ]);
  expect(planTerms(features, plans.pro!.features).map((t) => `${t.label}: ${t.value}`)).toEqual([
    "API calls: 1,000,000 calls a month",
    "Tokens: 100,000,000 tokens a month",
    "Seats: Unlimited",
    "SSO: Yes",
    "Webhooks: Yes",
  ]);
  // The order does not follow the object's keys (a stored catalog's jsonb reorders them).
  const shuffled = Object.fromEntries(Object.entries(features).reverse());
  expect(planTerms(shuffled, plans.pro!.features).map((t) => t.feature)).toEqual(["api_call", "tokens", "seats", "sso", "webhooks"]);
  // A feature the plan does not list grants nothing.
  expect(planTerms(features, { api_call: { included: 1 } }).map((t) => t.value)).toEqual(["1 call a month", "Not included", "0", "No", "No"]);
});

test("labels come from the feature's code", () => {
  expect([
    featureLabel("api_call", "metered"),
    featureLabel("tokens", "metered"),
    featureLabel("sso", "boolean"),
    featureLabel("storage_gb", "metered"),
  ]).toEqual(["API calls", "Tokens", "SSO", "Storage GB"]);
});

test("a plan change lists the features and allowances that change, from what the org has now", () => {
  const starter = allowancesOf([
    {
      feature: "api_call",
      type: "metered",
      unit: "call",
      included: 50_000,
      used: 10,
      remaining: 49_990,
      allow: true,
      credits: { remaining: 0, usedThisPeriod: 0 },
      overage: null,
    },
    {
      feature: "tokens",
      type: "metered",
      unit: "token",
      included: 5_000_000,
      used: 0,
      remaining: 5_000_000,
      allow: true,
      credits: { remaining: 0, usedThisPeriod: 0 },
      overage: null,
    },
    { feature: "seats", type: "numeric", limit: 3 },
    { feature: "webhooks", type: "boolean", granted: true },
    { feature: "sso", type: "boolean", granted: false },
  ]);
  expect(featureChanges(features, starter, plans.growth!.features).map((c) => `${c.label}: ${c.from} → ${c.to}`)).toEqual([
    "API calls: 50,000 → 250,000",
    "Tokens: 5,000,000 → 25,000,000",
    "Seats: 3 → 10",
  ]);
  expect(featureChanges(features, starter, plans.pro!.features).map((c) => `${c.label}: ${c.from} → ${c.to}`)).toEqual([
    "API calls: 50,000 → 1,000,000",
    "Tokens: 5,000,000 → 100,000,000",
    "Seats: 3 → unlimited",
    "SSO: no → yes",
  ]);
  expect(featureChanges(features, starter, plans.starter!.features)).toEqual([]);
});

test("the yearly price's saving against twelve months, as months free when it is whole", () => {
  expect(yearlySaving({ priceMonthly: 2900, priceYearly: 29_000, currency: "usd" })).toEqual({ saving: 5800, text: "2 months free — save $58" });
  expect(yearlySaving({ priceMonthly: 29_900, priceYearly: 299_000, currency: "usd" })?.text).toBe("2 months free — save $598");
  expect(yearlySaving({ priceMonthly: 1000, priceYearly: 11_050, currency: "usd" })?.text).toBe("save $9.50");
  expect(yearlySaving({ priceMonthly: 1000, priceYearly: 12_000, currency: "usd" })).toEqual({ saving: 0, text: null });
  expect(yearlySaving({ priceMonthly: 1000, priceYearly: null, currency: "usd" })).toBeNull();
});
