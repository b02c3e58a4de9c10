// The catalog's versions in the database (db/schema-catalog.ts): the current one, the difference
// a new file makes, and publishing. A version is published only when its content differs from
// the current one; it names a version of every plan, and a plan gets a new version only when its
// own terms changed, so a subscription pinned to a plan version (grandfathering) keeps exactly
// what it bought. Publishing also mirrors the version into `plans`/`plan_units`, the hot path's
// copy, in the same transaction. Stripe is prepared before (stripe-catalog.server.ts).
import { createHash } from "node:crypto";
import { and, desc, sql as dsql, eq, isNull, or } from "drizzle-orm";
import { ADVISORY_LOCKS } from "../../../db/advisory-locks";
import {
  type Catalog,
  type CatalogChange,
  CatalogInvalid,
  type CatalogIssue,
  canonical,
  currencyOf,
  diffCatalogs,
  includedOf,
  type PlanSpec,
  pricedPaths,
} from "../domain/catalog.server";
import { db, schema, sql, type Tx } from "../platform/db.server";
import { stiggEnabled } from "../stigg/stigg.server";
import { pinPlanVersions } from "./subscriptions.server";

export type PublishedCatalog = { version: number; content: Catalog; digest: string; source: string; publishedAt: Date };

/** sha256 of a value's canonical JSON: equal content, equal digest. */
export const digestOf = (value: unknown) =>
  createHash("sha256")
    .update(JSON.stringify(canonical(value)))
    .digest("hex");

/** The newest published catalog version, or null before the first. */
export async function currentCatalog(tx: Pick<Tx, "select"> = db): Promise<PublishedCatalog | null> {
  const [row] = await tx.select().from(schema.catalogVersions).orderBy(desc(schema.catalogVersions.version)).limit(1);
  return row ? { ...row, content: row.content as Catalog } : null;
}

/** The current version's number (one index read): how a process notices a newer catalog. */
export async function currentCatalogVersion(): Promise<number | null> {
  const [row] = await sql<{ version: number | null }[]>`select max(version) as version from catalog_versions`;
  return row?.version ?? null;
}

/** Stripe's objects for a catalog, made before it is published: prices per plan and interval, meters per metered feature. */
export type StripeBindings = { prices: Record<string, { month?: string; year?: string }>; meters: Record<string, string> };

/** What publishing `content` over the current version would change (nothing: no new version). */
export async function catalogChanges(content: Catalog): Promise<{ current: PublishedCatalog | null; changes: CatalogChange[] }> {
  const current = await currentCatalog();
  return { current, changes: diffCatalogs(current?.content ?? {}, canonical(content)) };
}

/**
 * What the database holds against a catalog: a feature's type is fixed once published (a meter
 * cannot become a gate; name a new feature), so is the currency (Stripe keeps each customer in
 * the currency it was first billed in: a plan in another could never be bought), and a file read
 * from an older version (`basedOn`, its `version` field) must not undo what was published since.
 */
export async function conflictsOf(content: Catalog, basedOn?: number, tx: Pick<Tx, "select"> = db): Promise<CatalogIssue[]> {
  const issues: CatalogIssue[] = [];
  const known = await tx.select().from(schema.features);
  for (const feature of known) {
    const now = content.features[feature.code];
    if (now && now.type !== feature.type)
      issues.push({
        path: `features.${feature.code}.type`,
        message: `was ${feature.type} since version ${feature.firstVersion}; a feature's type cannot change (name a new feature)`,
      });
  }
  const current = await currentCatalog(tx);
  if (current) {
    const sold = currencyOf(current.content);
    for (const { path, currency } of pricedPaths(content))
      if (currency !== sold)
        issues.push({
          path: path.join("."),
          message: `the published catalog sells in ${sold}, and Stripe keeps each customer in one currency: it cannot change to ${currency}`,
        });
  }
  if (basedOn !== undefined) {
    if (current?.version !== basedOn)
      issues.push({
        path: "version",
        message: `the file was read from version ${basedOn}, and the current version is ${current?.version ?? "none"}: show it again and apply your change to it`,
      });
  }
  return issues;
}

export type PublishResult = { published: boolean; version: number; changes: CatalogChange[] };

/**
 * Publishes `content` as the next catalog version, unless it equals the current one. One at a
 * time (an advisory lock): two processes starting on an empty database publish once. Before the
 * switch, subscriptions not yet pinned to a plan version are pinned to the current one, so they
 * keep their terms.
 */
export async function publishCatalog(input: { content: Catalog; source: string; stripe?: StripeBindings; basedOn?: number }): Promise<PublishResult> {
  const content = canonical(input.content) as Catalog;
  const digest = digestOf(content);
  return db.transaction(async (tx) => {
    await tx.execute(dsql`select pg_advisory_xact_lock(${ADVISORY_LOCKS.catalog})`);
    const current = await currentCatalog(tx);
    const changes = diffCatalogs(current?.content ?? {}, content);
    if (current && current.digest === digest) return { published: false, version: current.version, changes: [] };
    const conflicts = await conflictsOf(content, input.basedOn, tx);
    if (conflicts.length > 0) throw new CatalogInvalid(conflicts);
    const version = (current?.version ?? 0) + 1;
    if (current) await pinPlanVersions(tx, current.version);
    await tx.insert(schema.catalogVersions).values({ version, content, digest, source: input.source });
    for (const [planCode, plan] of Object.entries(content.plans)) {
      const planVersion = await planVersionOf(tx, { planCode, plan, catalogVersion: version, content, stripe: input.stripe });
      await tx.insert(schema.catalogVersionPlans).values({ catalogVersion: version, planCode, planVersion });
    }
    for (const [code, feature] of Object.entries(content.features)) {
      const row = {
        code,
        type: feature.type,
        unit: feature.unit ?? null,
        firstVersion: version,
        lastVersion: version,
        stripeMeterId: input.stripe?.meters[code] ?? null,
      };
      await tx
        .insert(schema.features)
        .values(row)
        .onConflictDoUpdate({
          target: schema.features.code,
          set: { unit: row.unit, lastVersion: version, stripeMeterId: dsql`coalesce(excluded.stripe_meter_id, ${schema.features.stripeMeterId})` },
        });
    }
    await mirrorPlans(tx, content);
    // Stigg follows the catalog in its own job (stigg-mirror.server.ts), after this commits, in
    // one of the Stigg syncs' lanes (converge.server.ts followInStigg).
    if (stiggEnabled())
      await tx.execute(dsql`select graphile_worker.add_job('stigg_publish', '{}'::json, job_key := 'stigg_publish', queue_name := 'stigg:0')`);
    return { published: true, version, changes };
  });
}

/** The plan's version in the catalog being published: its newest, or a new one when its terms changed. */
async function planVersionOf(
  tx: Tx,
  input: { planCode: string; plan: PlanSpec; catalogVersion: number; content: Catalog; stripe?: StripeBindings },
): Promise<number> {
  const { planCode, plan } = input;
  const [newest] = await tx
    .select({ version: schema.planVersions.version, content: schema.planVersions.content })
    .from(schema.planVersions)
    .where(eq(schema.planVersions.planCode, planCode))
    .orderBy(desc(schema.planVersions.version))
    .limit(1);
  // A trial's terms include the price that follows it.
  const billed = plan.priceOf ? input.content.plans[plan.priceOf] : plan;
  const terms = { ...plan, followingPrices: plan.priceOf ? billed.prices : undefined };
  if (newest && digestOf(newest.content) === digestOf(terms)) return newest.version;
  const version = (newest?.version ?? 0) + 1;
  const prices = input.stripe?.prices[plan.priceOf ?? planCode];
  await tx.insert(schema.planVersions).values({
    planCode,
    version,
    catalogVersion: input.catalogVersion,
    name: plan.name,
    currency: plan.currency,
    priceMonth: plan.prices?.month ?? null,
    priceYear: plan.prices?.year ?? null,
    trialDays: plan.trialDays ?? null,
    priceOf: plan.priceOf ?? null,
    content: canonical(terms),
    stripePriceMonth: prices?.month ?? null,
    stripePriceYear: prices?.year ?? null,
  });
  const grants = Object.entries(plan.features).map(([feature, grant]) => ({
    planCode,
    version,
    feature,
    included: typeof grant === "object" && "included" in grant ? grant.included : null,
    overagePriceCents: typeof grant === "object" && "overage" in grant ? (grant.overage?.priceCents ?? null) : null,
    overagePer: typeof grant === "object" && "overage" in grant ? (grant.overage?.per ?? null) : null,
    limit: typeof grant === "object" && "limit" in grant ? grant.limit : null,
    granted: typeof grant === "boolean" ? grant : null,
  }));
  if (grants.length > 0) await tx.insert(schema.planVersionFeatures).values(grants);
  return version;
}

/**
 * The hot path's copy of the current version: `plans` (name, monthly price, what a plan renews
 * as) and `plan_units` (included units per metered feature). A plan the new version dropped
 * keeps its rows: its grandfathered subscribers still renew on it.
 */
async function mirrorPlans(tx: Tx, content: Catalog): Promise<void> {
  for (const [code, plan] of Object.entries(content.plans)) {
    const billedAs = plan.priceOf ?? code;
    const row = {
      code,
      name: plan.name,
      priceMonthly: content.plans[billedAs]?.prices?.month ?? 0,
      currency: plan.currency,
      trialDays: plan.trialDays ?? null,
      renewsAs: billedAs,
    };
    await tx.insert(schema.plans).values(row).onConflictDoUpdate({ target: schema.plans.code, set: row });
    await tx.delete(schema.planUnits).where(eq(schema.planUnits.planCode, code));
    const units = Object.keys(plan.features)
      .filter((f) => content.features[f]?.type === "metered")
      .map((metric) => ({ planCode: code, metric, included: includedOf(plan, metric) }));
    if (units.length > 0) await tx.insert(schema.planUnits).values(units);
  }
}

/**
 * The plan version a subscription on `planCode` is on: the mirror's own while it stays on that
 * plan (grandfathering); otherwise, as for a new subscriber, the newest version that bills its
 * Stripe price (or that was published without Stripe prices), else the newest.
 */
export async function planVersionFor(
  tx: Pick<Tx, "select">,
  input: { planCode: string; priceId: string | null; mirrored?: { planCode: string; planVersion: number | null } },
): Promise<number | null> {
  if (input.mirrored?.planCode === input.planCode && input.mirrored.planVersion !== null) return input.mirrored.planVersion;
  const v = schema.planVersions;
  const byPrice = input.priceId
    ? or(and(isNull(v.stripePriceMonth), isNull(v.stripePriceYear)), eq(v.stripePriceMonth, input.priceId), eq(v.stripePriceYear, input.priceId))
    : undefined;
  const [match] = await tx
    .select({ version: v.version })
    .from(v)
    .where(and(eq(v.planCode, input.planCode), byPrice))
    .orderBy(desc(v.version))
    .limit(1);
  if (match) return match.version;
  const [newest] = await tx.select({ version: v.version }).from(v).where(eq(v.planCode, input.planCode)).orderBy(desc(v.version)).limit(1);
  return newest?.version ?? null;
}

/** A plan version's terms as published (the plan as the catalog file had it). */
export async function planVersionTerms(tx: Pick<Tx, "select">, planCode: string, version: number): Promise<PlanSpec | null> {
  const [row] = await tx
    .select({ content: schema.planVersions.content })
    .from(schema.planVersions)
    .where(and(eq(schema.planVersions.planCode, planCode), eq(schema.planVersions.version, version)));
  return (row?.content as PlanSpec | undefined) ?? null;
}

/** Every published version: its number, when, by what, and its plans' versions (ops catalog:show). */
export async function catalogHistory(): Promise<{ version: number; source: string; publishedAt: Date; plans: Record<string, number> }[]> {
  const rows = await sql<{ version: number; source: string; published_at: Date; plans: Record<string, number> }[]>`
    select c.version, c.source, c.published_at,
           coalesce((select jsonb_object_agg(p.plan_code, p.plan_version) from catalog_version_plans p where p.catalog_version = c.version), '{}') as plans
      from catalog_versions c order by c.version`;
  return rows.map((r) => ({ version: r.version, source: r.source, publishedAt: new Date(r.published_at), plans: r.plans }));
}

export type PlanVersionSubscribers = {
  planCode: string;
  version: number;
  /** The catalog version that first published it. */
  catalogVersion: number;
  name: string;
  currency: string;
  priceMonth: number | null;
  priceYear: number | null;
  /** Live subscriptions (active, trialing, past due) on this version, by billing interval. */
  monthly: number;
  yearly: number;
};

/**
 * Every plan version with how many live subscriptions are on it (grandfathered ones included):
 * /admin. A subscription not pinned yet is on its plan's newest version (publishing pins it to
 * the outgoing one first: pinPlanVersions).
 */
export async function planVersionSubscribers(): Promise<PlanVersionSubscribers[]> {
  return sql<PlanVersionSubscribers[]>`
    with newest as (
      select distinct on (plan_code) plan_code, plan_version from catalog_version_plans order by plan_code, catalog_version desc
    ), live as (
      select s.plan_code, coalesce(s.plan_version, n.plan_version) as version, s.billing_interval
        from subscriptions s left join newest n on n.plan_code = s.plan_code
       where is_live(s.status)
    )
    select v.plan_code as "planCode", v.version, v.catalog_version as "catalogVersion", v.name, v.currency,
           v.price_month as "priceMonth", v.price_year as "priceYear",
           count(l.plan_code) filter (where l.billing_interval = 'month')::int as monthly,
           count(l.plan_code) filter (where l.billing_interval = 'year')::int as yearly
      from plan_versions v
      left join live l on l.plan_code = v.plan_code and l.version = v.version
     group by v.plan_code, v.version
     order by v.plan_code, v.version`;
}
