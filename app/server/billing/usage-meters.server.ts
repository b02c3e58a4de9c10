// What the portal shows of an org's plan, read generically from the catalog: a meter (used of
// included, this allowance period) and the period's daily usage for every metered feature of
// its plan version, and what each feature grants today (the "from" side of a plan change).
// One entitlements read (the database only, like the quota check) and one daily-usage read.
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
};

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
export async function usageMeters(input: { orgId: string; timeZone: string; entitlements?: Entitlements | null }): Promise<UsageMeter[]> {
  const ents = input.entitlements === undefined ? await currentEntitlements(input.orgId) : input.entitlements;
  if (!ents) return [];
  const metered = ents.features.filter(isMetered);
  const { start: periodStart, end: periodEnd } = ents.period;
  const days = await dailyUsageByMetric({ orgId: input.orgId, metrics: metered.map((f) => f.feature), periodStart, periodEnd, timeZone: input.timeZone });
  return metered.map((f) => ({
    feature: f.feature,
    unit: f.unit,
    used: f.used,
    included: f.included,
    remaining: f.remaining,
    periodStart,
    periodEnd,
    days: days[f.feature] ?? [],
  }));
}
