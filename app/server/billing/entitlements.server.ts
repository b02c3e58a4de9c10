// What the org may use now: every feature of the catalog as its plan version grants it, with the
// period's usage of the metered ones. The database only, like the quota check, never Stripe.
// Per request one statement reads what changes: for most orgs period_usage_of (db/functions/: the
// period, the plan version, the period's counters; inlined by Postgres, as cheap as quota_of; for
// one feature period_counter_of, the quota check's read of that feature's counter alone), and
// entitlement_usage_of for an org that was granted credits, whose period the boundary rule moved
// to another plan, or whose spend cap decides a feature's allow (it also reads the credits, the
// plan version and the cap). What a plan version grants under a catalog version never changes
// (published rows are immutable), so it is read once per process and kept, keyed by the three;
// the current catalog version is kept too, read again once it is a second old: a published
// catalog is listed by every process within about a second. A metered feature the usage engine
// does not count yet has no counter: used 0 and its plan version's units, until the engine writes
// one.
import type { z } from "zod";
import type { entitlement, entitlements } from "../api/schemas.server";
import { oneMoreOverageUnitFits, overageChargeCents } from "../domain/overage.server";
import { config } from "../platform/config.server";
import { hotSql, sql, withinHotDeadline } from "../platform/db.server";
import { NotFound, SubscriptionInactive } from "../platform/errors.server";
import { iso, periodKeyOf } from "../usage/decisions.server";
import type { CounterColumns } from "../usage/engine.server";

const GRACE = `${config.PAST_DUE_GRACE_DAYS} days`;

export type Entitlements = z.infer<typeof entitlements>;
export type Entitlement = z.infer<typeof entitlement>;

/** One counter of the period (metric null: the period has none yet). */
type Counter = { metric: string | null } & CounterColumns;
/** The org's period and the plan version it is on (ps, pe: epoch ms). */
type Period = { plan_code: string; plan_version: number | null; billing_interval: "month" | "year"; ps: number; pe: number };
/** Whether the subscription is live, and its status (SUBSCRIPTION_INACTIVE names it when not). */
type Standing = { status: string; live: boolean };
/** period_usage_of's row: the period (on every row) and one counter; `plain` false when entitlement_usage_of must answer instead. */
type LeanRow = Period & Standing & Counter & { plain: boolean };
/** entitlement_usage_of's row: the period, one counter, the catalog version, the org's credits and its spend cap. */
type UsageRow = Period & Standing & Counter & { catalog_version: number | null } & OrgCredits;

/** Past the included units, per counter: its credit and overage units and its overage price (none: null). */
type Spent = { credit_used: number; overage_used: number; overage_price_cents: number | null; overage_per: number | null };
/** Per org: its unexpired credits per metric, and its spend cap and period overage charge (null: not read). */
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

// The current catalog version as this process last read it, read again (in the background, the
// request goes on with the one it has) once it is CATALOG_TTL_MS old; a plan version's grants
// read since may have brought a newer one.
const CATALOG_TTL_MS = 1000;
let catalog: { version: number | null; readAt: number } | null = null;
let catalogRead: Promise<void> | null = null;

// Orgs whose last read needed entitlement_usage_of: read with it alone for FULL_READ_MS, not
// with period_usage_of first. A bounded handful (cleared whole past MAX_FULL_READS).
const FULL_READ_MS = 30_000;
const MAX_FULL_READS = 10_000;
const fullReads = new Map<string, number>();

const keyOf = (catalogVersion: number | null, planCode: string, planVersion: number | null) => `${catalogVersion}\u0000${planCode}\u0000${planVersion}`;

/** Forgets every plan version's grants, the catalog version and which orgs need the full read (tests). */
export function clearEntitlementsCache(): void {
  grantsCache.clear();
  newestCatalog = null;
  catalog = null;
  fullReads.clear();
}

/** How many orgs this process reads with entitlement_usage_of alone for now (tests). */
export function orgsOnFullRead(): number {
  return fullReads.size;
}

/** How many plan versions' grants this process keeps (tests). */
export function entitlementsCacheSize(): number {
  return grantsCache.size;
}

/** Keeps a catalog version this process has seen (never going back to an older one); drops older versions' grants. */
function noteCatalog(version: number | null): void {
  if (catalog === null || version === null || catalog.version === null || version >= catalog.version) catalog = { version, readAt: performance.now() };
  if (version !== null && (newestCatalog === null || version > newestCatalog)) {
    for (const k of grantsCache.keys()) if (!k.startsWith(`${version}\u0000`)) grantsCache.delete(k);
    newestCatalog = version;
  }
}

function readCatalog(): Promise<void> {
  catalogRead ??= sql<{ version: number | null }[]>`select max(published.version) as version from catalog_versions published`
    .then(([row]) => noteCatalog(row.version))
    .finally(() => {
      catalogRead = null;
    });
  return catalogRead;
}

/** The current catalog version as kept (at most a second old), or null before the first read (currentCatalog waits for it). */
function keptCatalog(): { version: number | null } | null {
  if (catalog !== null && performance.now() - catalog.readAt > CATALOG_TTL_MS && catalogRead === null) {
    // A failed read leaves the version as it was; the next request asks again.
    readCatalog().catch(() => {});
  }
  return catalog;
}

/** The current catalog version: the first read waits for it; after that, at most a second old. */
async function currentCatalog(): Promise<number | null> {
  if (keptCatalog() === null) await readCatalog();
  return catalog!.version;
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

/**
 * A plan version's grants under a catalog version: kept, or read (under the current one). `exact`:
 * null unless they are of `catalogVersion` (the catalog moved on since a read that returned it: rare,
 * a publish); otherwise the current catalog's, whichever version that is now.
 */
async function grantsFor(catalogVersion: number | null, planCode: string, planVersion: number | null, exact: false): Promise<readonly Kept[]>;
async function grantsFor(catalogVersion: number | null, planCode: string, planVersion: number | null, exact: true): Promise<readonly Kept[] | null>;
async function grantsFor(catalogVersion: number | null, planCode: string, planVersion: number | null, exact: boolean): Promise<readonly Kept[] | null> {
  const cached = grantsCache.get(keyOf(catalogVersion, planCode, planVersion));
  if (cached) return cached;
  const read = await readGrants(planCode, planVersion);
  if (read.catalogVersion !== catalogVersion && exact) return null;
  noteCatalog(read.catalogVersion);
  if (grantsCache.size >= MAX_ENTRIES) grantsCache.clear();
  const kept = read.grants.map((grant) => ({ grant, fixed: grant.feature_type === "metered" ? null : Object.freeze(entitlementOf(fixedRow(grant))) }));
  grantsCache.set(keyOf(read.catalogVersion, planCode, planVersion), kept);
  return kept;
}

type Row = Grant & Spent & { used: number; credits_left: number; cap: Pick<OrgCredits, "cap_cents" | "capped" | "org_overage_cents"> };

const noCap = { cap_cents: null, capped: null, org_overage_cents: null };
const noCredits: OrgCredits = { credits: null, ...noCap };
/** A boolean or numeric feature's row: nothing is spent of it. */
const fixedRow = (grant: Grant): Row => ({ ...grant, used: 0, credit_used: 0, overage_used: 0, credits_left: 0, cap: noCap });

function entitlementOf(r: Row): Entitlement {
  if (r.feature_type === "boolean") return { feature: r.feature, type: "boolean", granted: r.in_plan && r.granted === true };
  if (r.feature_type === "numeric") return { feature: r.feature, type: "numeric", limit: r.in_plan ? r.feature_limit : 0 };
  return metered(r, r.included ?? 0, r.used, r.credit_used, r.overage_used, r.overage_price_cents, r.overage_per, r.credits_left, r.cap);
}

/** A metered feature's entitlement from its period's units (spent and included), its overage price, the credits left and the org's cap. */
function metered(
  grant: Grant,
  included: number,
  used: number,
  creditUsed: number,
  overageUsed: number,
  priceCents: number | null,
  per: number | null,
  creditsLeft: number,
  cap: Row["cap"],
): Entitlement {
  // As the quota check: the included units left plus the credits left; overage past them while the cap allows.
  const remaining = Math.max(0, included - (used - creditUsed - overageUsed)) + creditsLeft;
  const overage =
    grant.in_plan && priceCents !== null && per !== null
      ? { priceCents, per, unitsSoFar: overageUsed, chargeCents: overageChargeCents(overageUsed, priceCents, per) }
      : null;
  const overageFits =
    overage !== null && oneMoreOverageUnitFits({ capCents: cap.capped ? cap.cap_cents! : null, orgCents: cap.org_overage_cents ?? 0 }, overageUsed, overage);
  return {
    feature: grant.feature,
    type: "metered",
    unit: grant.unit ?? "unit",
    included,
    used,
    remaining,
    allow: grant.in_plan && (remaining > 0 || overageFits),
    credits: { remaining: creditsLeft, usedThisPeriod: creditUsed },
    overage,
  };
}

/** A metered feature with its period's counter: the counter carries the units and the price it was started with. */
const meteredOf = (grant: Grant, counter: Counter, org: OrgCredits): Entitlement =>
  metered(
    grant,
    counter.included ?? grant.included ?? 0,
    counter.used!,
    counter.credit_used!,
    counter.overage_used!,
    counter.overage_price_cents,
    counter.overage_per,
    org.credits?.[grant.feature] ?? 0,
    org === noCredits ? noCap : orgCapOf(org),
  );

/** A metered feature before its period has a counter: the plan version's units, and its overage price on a monthly price only. */
function unusedOf(grant: Grant, period: Period, org: OrgCredits): Entitlement {
  const monthly = period.billing_interval === "month";
  return metered(
    grant,
    grant.included ?? 0,
    0,
    0,
    0,
    monthly ? grant.overage_price_cents : null,
    monthly ? grant.overage_per : null,
    org.credits?.[grant.feature] ?? 0,
    org === noCredits ? noCap : orgCapOf(org),
  );
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
  const cap = org ?? noCredits;
  return rows
    .filter((r): r is typeof r & { feature: string } => r.feature !== null)
    .map((r) => ({ ...r, credits_left: cap.credits?.[r.feature] ?? 0, cap: orgCapOf(cap) }));
}

/** The org's cap as a feature's allow reads it (read whenever the plan version or a counter sells overage). */
const orgCapOf = (org: OrgCredits): Row["cap"] => ({ cap_cents: org.cap_cents, capped: org.capped, org_overage_cents: org.org_overage_cents });

/** Whether the org needed entitlement_usage_of within the last FULL_READ_MS. */
function fullReadDue(orgId: string): boolean {
  const until = fullReads.get(orgId);
  if (until === undefined) return false;
  if (performance.now() < until) return true;
  fullReads.delete(orgId);
  return false;
}

/**
 * The org's period and its counters (period_usage_of), or only `only`'s counter (period_counter_of,
 * the quota check's read: one counter, not the period's every one); null when the org needs
 * entitlement_usage_of. SUBSCRIPTION_INACTIVE without a live subscription.
 */
async function leanRead(orgId: string, only?: string): Promise<{ period: Period; counters: readonly Counter[] } | null> {
  // On the hot pool, with its deadline, as the quota check.
  const rows = await withinHotDeadline(
    only === undefined
      ? hotSql<LeanRow[]>`
    select plan_code, plan_version, billing_interval, status, live, plain, metric, used, included,
           credit_used, overage_used, overage_price_cents, overage_per, epoch_ms(period_start) as ps, epoch_ms(period_end) as pe
      from period_usage_of(${orgId}, ${GRACE}::interval)`
      : hotSql<LeanRow[]>`
    select plan_code, plan_version, billing_interval, status, live, plain, case when used is null then null else ${only}::text end as metric,
           used, included, credit_used, overage_used, overage_price_cents, overage_per, epoch_ms(period_start) as ps, epoch_ms(period_end) as pe
      from period_counter_of(${orgId}, ${only}, ${GRACE}::interval)`,
  );
  const first = rows[0];
  if (!first?.live) throw new SubscriptionInactive(first?.status ?? null);
  if (!first.plain) {
    needsFullRead(orgId);
    return null;
  }
  const { plan_code, plan_version, billing_interval } = first;
  return { period: { plan_code, plan_version, billing_interval, ps: first.ps, pe: first.pe }, counters: rows };
}

/** Reads the org with entitlement_usage_of alone for FULL_READ_MS (it needed it). */
function needsFullRead(orgId: string): void {
  if (fullReads.size >= MAX_FULL_READS) fullReads.clear();
  fullReads.set(orgId, performance.now() + FULL_READ_MS);
}

/**
 * Whether the spend cap decides a metered feature's allow (period_usage_of does not read it): a
 * counter that sells overage has nothing left of its included units, or the plan version sells
 * overage (on a monthly price) of a feature with no included units and no counter yet.
 */
function capDecides(grants: readonly Kept[], period: Period, counters: readonly Counter[], only: string | undefined): boolean {
  for (const { grant } of grants) {
    if (grant.feature_type !== "metered" || !grant.in_plan || (only !== undefined && grant.feature !== only)) continue;
    const counter = counters.find((c) => c.metric === grant.feature);
    if (counter) {
      if (counter.overage_price_cents !== null && counter.included! - (counter.used! - counter.credit_used! - counter.overage_used!) <= 0) return true;
    } else if (period.billing_interval === "month" && grant.overage_price_cents !== null && (grant.included ?? 0) <= 0) return true;
  }
  return false;
}

/** The org's period and every feature's entitlement (or only `only`'s); SUBSCRIPTION_INACTIVE without a live subscription (as the quota check). */
async function entitlementsOf(orgId: string, only?: string): Promise<{ period: Period; features: Entitlement[] }> {
  let read = fullReadDue(orgId) ? null : await leanRead(orgId, only);
  let grants: readonly Kept[] | null = null;
  let org = noCredits;
  if (read !== null) {
    // Kept, without a wait: the catalog version and the plan version's grants (read once per process).
    const kept = keptCatalog();
    const { plan_code, plan_version } = read.period;
    grants =
      (kept && grantsCache.get(keyOf(kept.version, plan_code, plan_version))) || (await grantsFor(await currentCatalog(), plan_code, plan_version, false));
    if (capDecides(grants, read.period, read.counters, only)) {
      read = null;
      needsFullRead(orgId);
    }
  }
  if (read === null) {
    const rows = await withinHotDeadline(hotSql<UsageRow[]>`
      select plan_code, plan_version, billing_interval, status, live, catalog_version, metric, used, included,
             credit_used, overage_used, overage_price_cents, overage_per, credits, cap_cents, capped, org_overage_cents,
             epoch_ms(period_start) as ps,
             epoch_ms(period_end) as pe
        from entitlement_usage_of(${orgId}, ${GRACE}::interval)`);
    const first = rows[0];
    if (!first?.live) throw new SubscriptionInactive(first?.status ?? null);
    read = { period: first, counters: rows };
    org = first;
    grants = await grantsFor(first.catalog_version, first.plan_code, first.plan_version, true);
  }
  const { period, counters } = read;
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
      const counter = counters.find((c) => c.metric === grant.feature);
      features.push(counter ? meteredOf(grant, counter, org) : unusedOf(grant, period, org));
    }
  }
  return { period, features };
}

/** The org's plan, period and every feature's entitlement; SUBSCRIPTION_INACTIVE without a live subscription (as the quota check). */
export async function entitlementsFor(orgId: string): Promise<Entitlements> {
  const { period, features } = await entitlementsOf(orgId);
  return {
    plan: { code: period.plan_code, version: period.plan_version ?? 1, interval: period.billing_interval },
    period: { key: periodKeyOf(period.ps), start: iso(period.ps), end: iso(period.pe) },
    features,
  };
}

/** One feature's entitlement; NOT_FOUND for a feature the catalog (and the org's plan version) does not have. */
export async function entitlementFor(orgId: string, feature: string): Promise<Entitlement> {
  const found = (await entitlementsOf(orgId, feature)).features.find((f) => f.feature === feature);
  if (!found) throw NotFound("Feature");
  return found;
}
