// What the portal shows of an org's plan, read generically from the catalog: a meter (used of
// included, this allowance period) and the period's daily usage for every metered feature of
// its plan version, and what each feature grants today (the "from" side of a plan change).
// One entitlements read (the database only, like the quota check) and one daily-usage read; on a
// plan with overage prices, the overage so far and its projection (docs/api.md, "Overage").
import { and, eq, isNotNull } from "drizzle-orm";
import { type OveragePrice, overageOutlook } from "../domain/overage.server";
import { db, schema } from "../platform/db.server";
import { SubscriptionInactive } from "../platform/errors.server";
import { type DailyUsage, dailyUsageByMetric } from "../usage/daily.server";
import { type Entitlement, type Entitlements, entitlementsFor } from "./entitlements.server";

export type UsageMeter = {
  feature: string;
  unit: string;
  used: number;
  included: number;
  remaining: number;
  periodStart: string;
  periodEnd: string;
  days: DailyUsage;
  /** On a feature with an overage price (monthly prices only): the overage so far and projected to the period's end, in units and cents. */
  overage: (OveragePrice & ReturnType<typeof overageOutlook>) | null;
};

/** The overage price per feature of a plan version (none on a yearly price: overage is billed monthly only). */
async function overagePrices(plan: Entitlements["plan"]): Promise<Map<string, OveragePrice>> {
  if (plan.interval === "year") return new Map();
  const f = schema.planVersionFeatures;
  const rows = await db
    .select({ feature: f.feature, priceCents: f.overagePriceCents, per: f.overagePer })
    .from(f)
    .where(and(eq(f.planCode, plan.code), eq(f.version, plan.version), isNotNull(f.overagePriceCents), isNotNull(f.overagePer)));
  return new Map(rows.map((r) => [r.feature, { priceCents: r.priceCents!, per: r.per! }]));
}

/** The org's entitlements, or null without a live subscription (nothing is metered then). */
export async function currentEntitlements(orgId: string): Promise<Entitlements | null> {
  return entitlementsFor(orgId).catch((err) => {
    if (err instanceof SubscriptionInactive) return null;
    throw err;
  });
}

// A metered feature of the catalog the plan version does not grant has nothing included: no
// meter, unless something was counted (then it shows, at 0 included, rather than hide usage).
const isMetered = (f: Entitlement): f is Extract<Entitlement, { type: "metered" }> => f.type === "metered" && (f.included > 0 || f.used > 0);

/** One meter per metered feature of the org's plan, each with its daily usage this allowance period. */
export async function usageMeters(input: { orgId: string; timeZone: string; entitlements?: Entitlements | null; now?: number }): Promise<UsageMeter[]> {
  const ents = input.entitlements === undefined ? await currentEntitlements(input.orgId) : input.entitlements;
  if (!ents) return [];
  const metered = ents.features.filter(isMetered);
  const { start: periodStart, end: periodEnd } = ents.period;
  const days = await dailyUsageByMetric({ orgId: input.orgId, metrics: metered.map((f) => f.feature), periodStart, periodEnd, timeZone: input.timeZone });
  const prices = await overagePrices(ents.plan);
  const now = input.now ?? Date.now();
  // Billable: every unit admitted this period but those paid with prepaid credits (the meter's figure).
  const overageOf = (f: (typeof metered)[number]) => {
    const price = prices.get(f.feature);
    const billable = f.used - f.credits.usedThisPeriod;
    return price ? { ...price, ...overageOutlook({ billable, included: f.included, price, periodStart, periodEnd, now }) } : null;
  };
  return metered.map((f) => ({
    feature: f.feature,
    unit: f.unit,
    used: f.used,
    included: f.included,
    remaining: f.remaining,
    periodStart,
    periodEnd,
    days: days[f.feature] ?? [],
    overage: overageOf(f),
  }));
}
