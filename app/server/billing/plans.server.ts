// The plans of the current catalog version, as the rest of the app reads them (synchronously:
// pages, Stripe prices, plan changes). The database's catalog versions are the source of truth
// (catalog.server.ts): syncPlanCatalog() loads the current one at start, and refreshCatalog()
// again whenever a billing operation finds a newer one (published by `ops catalog:push`).
// Until the first load, PLANS_CONFIG's catalog stands in.
import { eq } from "drizzle-orm";
import { type Catalog, type Grant, includedOf } from "../domain/catalog.server";
import type { PlanCode } from "../domain/vocabulary.server";
import { config } from "../platform/config.server";
import { db, schema } from "../platform/db.server";
import { currentCatalog, currentCatalogVersion, publishCatalog } from "./catalog.server";

export type { PlanCode };
export type Plan = {
  code: PlanCode;
  name: string;
  /** Minor units; a trial's is the price that follows it. */
  priceMonthly: number;
  priceYearly: number | null;
  currency: string;
  /** Included units per metered feature and month. */
  includedUnits: Record<string, number>;
  /** What the plan grants per feature, as the catalog says. */
  features: Record<string, Grant>;
  trialDays: number | null;
  /** The plan whose Stripe price this plan bills (trial → starter); itself otherwise. */
  billedAs: PlanCode;
};

let active: { version: number | null; catalog: Catalog } = { version: null, catalog: config.PLANS_CONFIG };

/** The catalog the process runs on, and its version (null until loaded from the database). */
export const activeCatalog = () => active;

/** Trials first, then by monthly price: how people compare plans. */
export function listPlans(): Plan[] {
  const { plans, features } = active.catalog;
  return Object.entries(plans)
    .map(([code, p]): Plan => {
      const billedAs = p.priceOf ?? code;
      const billed = plans[billedAs] ?? p;
      return {
        code,
        name: p.name,
        priceMonthly: billed.prices?.month ?? 0,
        priceYearly: p.priceOf ? null : (p.prices?.year ?? null),
        currency: p.currency,
        includedUnits: Object.fromEntries(
          Object.keys(p.features)
            .filter((f) => features[f]?.type === "metered")
            .map((f) => [f, includedOf(p, f)]),
        ),
        features: p.features,
        trialDays: p.trialDays ?? null,
        billedAs,
      };
    })
    .sort((a, b) => Number(b.trialDays !== null) - Number(a.trialDays !== null) || a.priceMonthly - b.priceMonthly || (a.code < b.code ? -1 : 1));
}

export function planByCode(code: string): Plan | undefined {
  return listPlans().find((p) => p.code === code);
}

/** The Stripe price the catalog names for a plan and interval (`stripePriceIds`), if any. */
export const configuredPriceId = (code: string, interval: "month" | "year"): string | undefined => active.catalog.plans[code]?.stripePriceIds?.[interval];

/**
 * At start (app, worker, and the tests' setup): publishes the catalog PLANS_CONFIG declares when
 * it differs from the current version, or the shipped default into a database that has none
 * (a catalog pushed since is left alone while PLANS_CONFIG is unset), then loads the current one.
 * Published this way, Stripe's prices are found or made at first use (stripe.server.ts).
 */
export async function syncPlanCatalog(): Promise<void> {
  const current = await currentCatalog();
  if (!current || config.plansConfigSet) await publishCatalog({ content: config.PLANS_CONFIG, source: config.plansConfigSet ? "PLANS_CONFIG" : "default" });
  await loadCatalog();
}

/** Loads the current version if it is newer than the one this process runs on. */
export async function refreshCatalog(): Promise<void> {
  if ((await currentCatalogVersion()) !== active.version) await loadCatalog();
}

async function loadCatalog(): Promise<void> {
  const current = await currentCatalog();
  if (current) active = { version: current.version, catalog: current.content };
}

/** Records the Stripe price a plan bills (its own, or its `priceOf` plan's). */
export async function setStripePriceId(code: PlanCode, priceId: string | undefined): Promise<void> {
  await db.update(schema.plans).set({ stripePriceId: priceId }).where(eq(schema.plans.code, code));
}

// The billing routes import the bodies that name a plan from here; they are defined with the API's contract.
export { planCodeBody, upgradeBody } from "../api/schemas.server";
