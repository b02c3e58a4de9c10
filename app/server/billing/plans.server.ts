// The plan catalog. PLANS_CONFIG is the source of truth; syncPlanCatalog() mirrors it into the
// plans/plan_units tables at start so the usage SQL can read included units.
import { sql as dsql, eq } from "drizzle-orm";
import { type Metric, type PlanCode, planCode } from "../domain/vocabulary.server";
import { config } from "../platform/config.server";
import { db, schema } from "../platform/db.server";

// The plan codes are the API contract's enum (which PLANS_CONFIG is validated against too).
export type { PlanCode };
export const PLAN_CODES: readonly PlanCode[] = planCode.options;
export type Plan = {
  code: PlanCode;
  name: string;
  priceMonthly: number;
  currency: string;
  includedUnits: Partial<Record<Metric, number>>;
  trialDays: number | null;
  /** The plan whose Stripe price this plan bills (trial → starter); itself otherwise. */
  billedAs: PlanCode;
};

export function listPlans(): Plan[] {
  return Object.entries(config.PLANS_CONFIG).map(([code, p]) => ({
    code: code as PlanCode,
    name: p.name,
    priceMonthly: p.priceMonthly,
    currency: p.currency,
    includedUnits: p.includedUnits,
    trialDays: p.trialDays ?? null,
    billedAs: (p.priceOf ?? code) as PlanCode,
  }));
}

export function planByCode(code: string): Plan | undefined {
  return listPlans().find((p) => p.code === code);
}

export async function syncPlanCatalog(): Promise<void> {
  const plans = listPlans();
  await db.transaction(async (tx) => {
    for (const p of plans) {
      const row = { code: p.code, name: p.name, priceMonthly: p.priceMonthly, currency: p.currency, trialDays: p.trialDays, renewsAs: p.billedAs };
      await tx.insert(schema.plans).values(row).onConflictDoUpdate({ target: schema.plans.code, set: row });
      await tx.delete(schema.planUnits).where(dsql`${schema.planUnits.planCode} = ${p.code}`);
      for (const [metric, included] of Object.entries(p.includedUnits)) {
        await tx.insert(schema.planUnits).values({ planCode: p.code, metric, included });
      }
    }
  });
}

/** Records the Stripe price a plan bills (its own, or its `priceOf` plan's). */
export async function setStripePriceId(code: PlanCode, priceId: string | undefined): Promise<void> {
  await db.update(schema.plans).set({ stripePriceId: priceId }).where(eq(schema.plans.code, code));
}

// The billing routes import the bodies that name a plan from here; they are defined with the API's contract.
export { planCodeBody, upgradeBody } from "../api/schemas.server";
