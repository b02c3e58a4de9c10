// What the org may use now: every feature of the catalog as its plan version grants it, with the
// period's usage of the metered ones. One read (entitlements_of, db/functions/), like the quota
// check: the database only, never Stripe. A metered feature the usage engine does not count yet
// has no counter: used 0 and its plan version's units, until the engine writes one.
import type { z } from "zod";
import type { entitlement, entitlements } from "../api/schemas.server";
import { config } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { NotFound, SubscriptionInactive } from "../platform/errors.server";
import { iso, periodKeyOf } from "../usage/decisions.server";

const GRACE = `${config.PAST_DUE_GRACE_DAYS} days`;

export type Entitlements = z.infer<typeof entitlements>;
export type Entitlement = z.infer<typeof entitlement>;

type Row = {
  plan_code: string;
  plan_version: number | null;
  billing_interval: "month" | "year";
  status: string;
  live: boolean;
  ps: number;
  pe: number;
  feature: string | null;
  feature_type: "metered" | "boolean" | "numeric";
  unit: string | null;
  in_plan: boolean;
  included: number | null;
  feature_limit: number | null;
  granted: boolean | null;
  used: number;
};

function entitlementOf(r: Row & { feature: string }): Entitlement {
  if (r.feature_type === "boolean") return { feature: r.feature, type: "boolean", granted: r.in_plan && r.granted === true };
  if (r.feature_type === "numeric") return { feature: r.feature, type: "numeric", limit: r.in_plan ? r.feature_limit : 0 };
  const included = r.included ?? 0;
  const remaining = Math.max(0, included - r.used);
  return { feature: r.feature, type: "metered", unit: r.unit ?? "unit", included, used: r.used, remaining, allow: remaining > 0 };
}

/** The org's plan, period and every feature's entitlement; SUBSCRIPTION_INACTIVE without a live subscription (as the quota check). */
export async function entitlementsFor(orgId: string): Promise<Entitlements> {
  const rows = await sql<Row[]>`
    select plan_code, plan_version, billing_interval, status, live, feature, feature_type, unit, in_plan,
           included, feature_limit, granted, used,
           (extract(epoch from period_start) * 1000)::float8 as ps,
           (extract(epoch from period_end) * 1000)::float8 as pe
      from entitlements_of(${orgId}, ${GRACE}::interval)`;
  const first = rows[0];
  if (!first?.live) throw new SubscriptionInactive(first?.status ?? null);
  return {
    plan: { code: first.plan_code, version: first.plan_version ?? 1, interval: first.billing_interval },
    period: { key: periodKeyOf(first.ps), start: iso(first.ps), end: iso(first.pe) },
    features: rows.filter((r): r is Row & { feature: string } => r.feature !== null).map(entitlementOf),
  };
}

/** One feature's entitlement; NOT_FOUND for a feature the catalog (and the org's plan version) does not have. */
export async function entitlementFor(orgId: string, feature: string): Promise<Entitlement> {
  const found = (await entitlementsFor(orgId)).features.find((f) => f.feature === feature);
  if (!found) throw NotFound("Feature");
  return found;
}
