// What the org may use now: every feature of the catalog as its plan version grants it, with the
// period's usage of the metered ones. The database only, like the quota check, never Stripe. Per
// request one read of what changes (entitlement_usage_of, db/functions/): the period, the plan
// version, the current catalog version and the period's counters. What a plan version grants
// under a catalog version never changes (published rows are immutable), so it is read once per
// process and kept, keyed by the three: a newly published catalog is seen on the first read that
// returns its version, in every process. A metered feature the usage engine does not count yet
// has no counter: used 0 and its plan version's units, until the engine writes one.
import type { z } from "zod";
import type { entitlement, entitlements } from "../api/schemas.server";
import { overageChargeCents } from "../domain/overage.server";
import { config } from "../platform/config.server";
import { hotSql, sql, withinHotDeadline } from "../platform/db.server";
import { NotFound, SubscriptionInactive } from "../platform/errors.server";
import { iso, periodKeyOf } from "../usage/decisions.server";

const GRACE = `${config.PAST_DUE_GRACE_DAYS} days`;

export type Entitlements = z.infer<typeof entitlements>;
export type Entitlement = z.infer<typeof entitlement>;

type UsageRow = {
  plan_code: string;
  plan_version: number | null;
  billing_interval: "month" | "year";
  status: string;
  live: boolean;
  ps: number;
  pe: number;
  catalog_version: number | null;
  metric: string | null;
  used: number | null;
  included: number | null;
} & OrgCredits &
  Partial<Spent>;

/** Past the included units, per counter: its credit and overage units and its overage price (none: null). */
type Spent = { credit_used: number; overage_used: number; overage_price_cents: number | null; overage_per: number | null };
/** Per org: its unexpired credits per metric, and its spend cap and period overage charge (null: no counter sells overage). */
type OrgCredits = { credits: Record<string, number> | null; cap_cents: number | null; capped: boolean | null; org_overage_cents: number | null };

/** What a plan version grants one feature of a catalog version. */
type Grant = {
  feature: string;
  feature_type: "metered" | "boolean" | "numeric";
  unit: string | null;
  in_plan: boolean;
  included: number | null;
  feature_limit: number | null;
  granted: boolean | null;
  // what the plan version sells past the included units (null: none)
  overage_price_cents: number | null;
  overage_per: number | null;
};

/** A grant as kept: a boolean or numeric feature's answer is made once; a metered one needs the period's counter. */
type Kept = { grant: Grant; fixed: Entitlement | null };

// Keyed by catalog version, plan code and plan version. Older catalog versions' entries are
// dropped when a newer one is seen; the rest is a handful of plans and versions.
const grantsCache = new Map<string, readonly Kept[]>();
let newestCatalog: number | null = null;
const MAX_ENTRIES = 1000;

const keyOf = (catalogVersion: number | null, planCode: string, planVersion: number | null) => `${catalogVersion}\u0000${planCode}\u0000${planVersion}`;

/** Forgets every plan version's grants (tests). */
export function clearEntitlementsCache(): void {
  grantsCache.clear();
  newestCatalog = null;
}

/** How many plan versions' grants this process keeps (tests). */
export function entitlementsCacheSize(): number {
  return grantsCache.size;
}

/**
 * The grants of a plan version as the CURRENT catalog lists its features (those of the current
 * catalog and any other the plan version grants, by code), with the catalog version they are of.
 */
async function readGrants(planCode: string, planVersion: number | null): Promise<{ catalogVersion: number | null; grants: Grant[] }> {
  const rows = await sql<(Grant & { catalog_version: number | null; feature: string | null })[]>`
    with newest_catalog as (select max(published.version) as version from catalog_versions published)
    select newest_catalog.version as catalog_version, entitlement.*
      from newest_catalog
      left join lateral (
        select feature.code as feature, feature.type as feature_type, feature.unit,
               granting.feature is not null as in_plan, granting.included, granting."limit" as feature_limit, granting.granted,
               granting.overage_price_cents, granting.overage_per
          from features feature
          left join plan_version_features granting
                 on granting.plan_code = ${planCode} and granting.version = ${planVersion}::int and granting.feature = feature.code
         where feature.last_version = newest_catalog.version or granting.feature is not null
         order by feature.code) entitlement on true`;
  const grants = rows.filter((r): r is typeof r & { feature: string } => r.feature !== null).map(({ catalog_version: _, ...grant }) => grant);
  return { catalogVersion: rows[0]?.catalog_version ?? null, grants };
}

/** The grants for the catalog version the usage read returned; null if the catalog moved on in between (rare: a publish). */
async function grantsFor(catalogVersion: number | null, planCode: string, planVersion: number | null): Promise<readonly Kept[] | null> {
  const key = keyOf(catalogVersion, planCode, planVersion);
  const cached = grantsCache.get(key);
  if (cached) return cached;
  const read = await readGrants(planCode, planVersion);
  if (read.catalogVersion !== catalogVersion) return null;
  if (catalogVersion !== null && (newestCatalog === null || catalogVersion > newestCatalog)) {
    for (const k of grantsCache.keys()) if (!k.startsWith(`${catalogVersion}\u0000`)) grantsCache.delete(k);
    newestCatalog = catalogVersion;
  }
  if (grantsCache.size >= MAX_ENTRIES) grantsCache.clear();
  const kept = read.grants.map((grant) => ({ grant, fixed: grant.feature_type === "metered" ? null : Object.freeze(entitlementOf(fixedRow(grant))) }));
  grantsCache.set(key, kept);
  return kept;
}

type Row = Grant & Spent & { used: number; credits_left: number; cap: Pick<OrgCredits, "cap_cents" | "capped" | "org_overage_cents"> };

const noCap = { cap_cents: null, capped: null, org_overage_cents: null };
/** A boolean or numeric feature's row: nothing is spent of it. */
const fixedRow = (grant: Grant): Row => ({ ...grant, used: 0, credit_used: 0, overage_used: 0, credits_left: 0, cap: noCap });

function entitlementOf(r: Row): Entitlement {
  if (r.feature_type === "boolean") return { feature: r.feature, type: "boolean", granted: r.in_plan && r.granted === true };
  if (r.feature_type === "numeric") return { feature: r.feature, type: "numeric", limit: r.in_plan ? r.feature_limit : 0 };
  const included = r.included ?? 0;
  // As the quota check: the included units left plus the credits left; overage past them while the cap allows.
  const remaining = Math.max(0, included - (r.used - r.credit_used - r.overage_used)) + r.credits_left;
  const overage =
    r.in_plan && r.overage_price_cents !== null && r.overage_per !== null
      ? {
          priceCents: r.overage_price_cents,
          per: r.overage_per,
          unitsSoFar: r.overage_used,
          chargeCents: overageChargeCents(r.overage_used, r.overage_price_cents, r.overage_per),
        }
      : null;
  const overageFits =
    overage !== null &&
    (!r.cap.capped ||
      r.cap.org_overage_cents! - overage.chargeCents + overageChargeCents(r.overage_used + 1, overage.priceCents, overage.per) <= r.cap.cap_cents!);
  return {
    feature: r.feature,
    type: "metered",
    unit: r.unit ?? "unit",
    included,
    used: r.used,
    remaining,
    allow: r.in_plan && (remaining > 0 || overageFits),
    credits: { remaining: r.credits_left, usedThisPeriod: r.credit_used },
    overage,
  };
}

/** The whole answer in one statement (entitlements_of): when the catalog changed between the two reads. */
async function entitlementRowsInOneRead(orgId: string): Promise<Row[]> {
  const rows = await sql<(Grant & Spent & { feature: string | null; used: number })[]>`
    select feature, feature_type, unit, in_plan, included, feature_limit, granted, used,
           overage_price_cents, overage_per, credit_used, overage_used
      from entitlements_of(${orgId}, ${GRACE}::interval)`;
  // The org's credits and spend cap, as entitlement_usage_of reads them (this path is rare: a publish in between).
  const [org] = await sql<OrgCredits[]>`
    select credits, cap_cents, capped, org_overage_cents from entitlement_usage_of(${orgId}, ${GRACE}::interval) limit 1`;
  const cap = org ?? { credits: null, ...noCap };
  return rows
    .filter((r): r is typeof r & { feature: string } => r.feature !== null)
    .map((r) => ({ ...r, credits_left: cap.credits?.[r.feature] ?? 0, cap: orgCapOf(cap) }));
}

/** The org's cap as a feature's allow reads it (read whenever the plan version or a counter sells overage). */
const orgCapOf = (org: OrgCredits): Row["cap"] => ({ cap_cents: org.cap_cents, capped: org.capped, org_overage_cents: org.org_overage_cents });

/** The org's plan, period and every feature's entitlement (or only `only`'s); SUBSCRIPTION_INACTIVE without a live subscription (as the quota check). */
async function entitlementsOf(orgId: string, only?: string): Promise<Entitlements> {
  // On the hot pool, with its deadline, as the quota check.
  const rows = await withinHotDeadline(hotSql<UsageRow[]>`
    select plan_code, plan_version, billing_interval, status, live, catalog_version, metric, used, included,
           credit_used, overage_used, overage_price_cents, overage_per, credits, cap_cents, capped, org_overage_cents,
           (extract(epoch from period_start) * 1000)::float8 as ps,
           (extract(epoch from period_end) * 1000)::float8 as pe
      from entitlement_usage_of(${orgId}, ${GRACE}::interval)`);
  const first = rows[0];
  if (!first?.live) throw new SubscriptionInactive(first?.status ?? null);
  const grants = await grantsFor(first.catalog_version, first.plan_code, first.plan_version);
  let features: Entitlement[];
  if (grants === null) features = (await entitlementRowsInOneRead(orgId)).map(entitlementOf);
  else {
    features = [];
    for (const { grant, fixed } of grants) {
      if (only !== undefined && grant.feature !== only) continue;
      if (fixed) {
        features.push(fixed);
        continue;
      }
      // The period's counter for this metered feature (a handful of rows at most), or none yet.
      const counter = rows.find((r) => r.metric === grant.feature);
      features.push(
        entitlementOf({
          ...grant,
          included: counter?.included ?? grant.included,
          used: counter?.used ?? 0,
          credit_used: counter?.credit_used ?? 0,
          overage_used: counter?.overage_used ?? 0,
          // The counter carries the price it was started with; before it exists, the plan version's (monthly prices only).
          overage_price_cents: counter ? (counter.overage_price_cents ?? null) : first.billing_interval === "month" ? grant.overage_price_cents : null,
          overage_per: counter ? (counter.overage_per ?? null) : first.billing_interval === "month" ? grant.overage_per : null,
          credits_left: first.credits?.[grant.feature] ?? 0,
          cap: orgCapOf(first),
        }),
      );
    }
  }
  return {
    plan: { code: first.plan_code, version: first.plan_version ?? 1, interval: first.billing_interval },
    period: { key: periodKeyOf(first.ps), start: iso(first.ps), end: iso(first.pe) },
    features,
  };
}

/** The org's plan, period and every feature's entitlement; SUBSCRIPTION_INACTIVE without a live subscription (as the quota check). */
export function entitlementsFor(orgId: string): Promise<Entitlements> {
  return entitlementsOf(orgId);
}

/** One feature's entitlement; NOT_FOUND for a feature the catalog (and the org's plan version) does not have. */
export async function entitlementFor(orgId: string, feature: string): Promise<Entitlement> {
  const found = (await entitlementsOf(orgId, feature)).features.find((f) => f.feature === feature);
  if (!found) throw NotFound("Feature");
  return found;
}
