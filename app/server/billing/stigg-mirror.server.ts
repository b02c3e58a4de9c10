// Stripe → DB → Stigg. After the database converges to Stripe, the stigg_sync job mirrors the org
// and its subscription to Stigg (stigg.server.ts: Stigg's import, `updatedAt` so a stale job
// changes nothing) and rechecks it. Each plan version is a plan in Stigg with the same grants
// (published on first need and whenever a catalog version is published). `ops stigg:check`
// compares every org's plan and grants in Stigg with the database and records the drift that
// /admin counts.
import { and, sql as dsql, eq } from "drizzle-orm";
import type { Grant, PlanSpec } from "../domain/catalog.server";
import { db, schema, sql } from "../platform/db.server";
import { postgresText } from "../platform/jobs.server";
import {
  mirrorOrg,
  type OrgMirror,
  publishFeatures,
  publishPlan,
  type StiggFeature,
  type StiggGrant,
  type StiggPlan,
  stiggEnabled,
  stiggPlanId,
  stiggStateOf,
} from "../stigg/stigg.server";
import { followInStigg } from "./converge.server";

// Subscriptions Stigg holds as ended (the rest are current, as the database's are).
const ENDED = new Set(["canceled", "incomplete_expired"]);

async function featureDefs(): Promise<StiggFeature[]> {
  const rows = await db.select().from(schema.features);
  return rows.map((f) => ({ refId: f.code, displayName: f.code, type: f.type as StiggFeature["type"], unit: f.unit }));
}

/** A plan version's grants as Stigg entitlements: metered `included` and numeric `limit` as usage limits, booleans granted when true. */
export function stiggPlanOf(planCode: string, planVersion: number, plan: PlanSpec, catalogVersion: number, types: Map<string, string>): StiggPlan {
  const entitlements: StiggPlan["entitlements"] = [];
  for (const [featureId, grant] of Object.entries(plan.features) as [string, Grant][]) {
    const type = types.get(featureId);
    if (type === "boolean") {
      if (grant === true) entitlements.push({ featureId, usageLimit: null, hasUnlimitedUsage: false, metered: false });
    } else if (type === "metered" && typeof grant === "object" && grant && "included" in grant) {
      entitlements.push({ featureId, usageLimit: grant.included, hasUnlimitedUsage: false, metered: true });
    } else if (type === "numeric" && typeof grant === "object" && grant && "limit" in grant) {
      entitlements.push({ featureId, usageLimit: grant.limit, hasUnlimitedUsage: grant.limit === null, metered: false });
    }
  }
  return {
    refId: stiggPlanId(planCode, planVersion),
    displayName: `${plan.name} (v${planVersion})`,
    metadata: { planCode, planVersion, catalogVersion, monthlyPrice: plan.prices?.month ?? null },
    entitlements,
  };
}

async function planVersionRow(planCode: string, planVersion: number) {
  const [row] = await db
    .select()
    .from(schema.planVersions)
    .where(and(eq(schema.planVersions.planCode, planCode), eq(schema.planVersions.version, planVersion)));
  return row ?? null;
}

async function stiggPlanFor(planCode: string, planVersion: number): Promise<StiggPlan | null> {
  const row = await planVersionRow(planCode, planVersion);
  if (!row) return null;
  const types = new Map((await featureDefs()).map((f) => [f.refId, f.type]));
  return stiggPlanOf(planCode, planVersion, row.content as PlanSpec, row.catalogVersion, types);
}

/** Publishes a catalog version (default: the current one) to Stigg: its features, then each of its plan versions. */
export async function publishCatalogToStigg(
  catalogVersion?: number,
): Promise<{ version: number; plans: { refId: string; result: "published" | "already" }[] }> {
  const [version] = catalogVersion
    ? [{ version: catalogVersion }]
    : await sql<{ version: number }[]>`select max(version)::int as version from catalog_versions`;
  if (!version?.version) return { version: 0, plans: [] };
  const features = await featureDefs();
  await publishFeatures(features);
  const types = new Map(features.map((f) => [f.refId, f.type]));
  const rows = await sql<{ plan_code: string; plan_version: number; content: PlanSpec; catalog_version: number }[]>`
    select cvp.plan_code, cvp.plan_version, pv.content, pv.catalog_version
      from catalog_version_plans cvp join plan_versions pv on pv.plan_code = cvp.plan_code and pv.version = cvp.plan_version
     where cvp.catalog_version = ${version.version} order by cvp.plan_code`;
  const plans = [];
  for (const r of rows) {
    const plan = stiggPlanOf(r.plan_code, r.plan_version, r.content, r.catalog_version, types);
    plans.push({ refId: plan.refId, result: await publishPlan(plan) });
  }
  return { version: version.version, plans };
}

/** The plan version an org's subscription is on (its own, else the plan's newest). */
async function planVersionOf(sub: { planCode: string; planVersion: number | null }): Promise<number | null> {
  if (sub.planVersion) return sub.planVersion;
  const [row] = await sql<{ v: number | null }[]>`select max(version)::int as v from plan_versions where plan_code = ${sub.planCode}`;
  return row?.v ?? null;
}

/**
 * The org as the database has it now, for Stigg: stamped with the database's clock taken before
 * the read, so of two snapshots the later-stamped one holds the newer state, and Stigg's import
 * (which skips an `updatedAt` older than the one it holds) keeps it whatever order they arrive
 * in. Null while the org has no subscription.
 */
export async function orgSnapshotForStigg(orgId: string): Promise<{ mirror: OrgMirror; plan: StiggPlan } | null> {
  const [{ at: stamp }] = await sql<{ at: string }[]>`select clock_timestamp()::text as at`;
  const at = new Date(stamp);
  const [org] = await db.select().from(schema.organisations).where(eq(schema.organisations.id, orgId));
  const [sub] = await db.select().from(schema.subscriptions).where(eq(schema.subscriptions.orgId, orgId));
  if (!org || !sub) return null;
  const version = await planVersionOf(sub);
  const plan = version ? await stiggPlanFor(sub.planCode, version) : null;
  if (!version || !plan) throw new Error(`plan ${sub.planCode} has no published version to mirror`);
  return {
    plan,
    mirror: {
      orgId,
      name: org.name,
      email: org.ownerEmail,
      stripeCustomerId: org.stripeCustomerId,
      stripeSubscriptionId: sub.stripeSubscriptionId,
      planId: plan.refId,
      startDate: sub.periodStart,
      endDate: ENDED.has(sub.status) ? sub.updatedAt : null,
      updatedAt: at,
    },
  };
}

/** The stigg_sync job: mirrors the org as the database has it now (its plan version published first), then rechecks it. */
export async function syncOrgToStigg(orgId: string): Promise<void> {
  if (!stiggEnabled()) return;
  const snapshot = await orgSnapshotForStigg(orgId);
  if (!snapshot) return;
  await publishFeatures(await featureDefs());
  await publishPlan(snapshot.plan);
  await mirrorOrg(snapshot.mirror);
  await recordDrift(orgId, await driftOf(orgId));
}

/** What differs between Stigg and the database for one org (empty: in agreement). */
export async function driftOf(orgId: string): Promise<string[]> {
  const [sub] = await db.select().from(schema.subscriptions).where(eq(schema.subscriptions.orgId, orgId));
  if (!sub) return [];
  const version = await planVersionOf(sub);
  const expected = version && !ENDED.has(sub.status) ? await stiggPlanFor(sub.planCode, version) : null;
  let held: { planId: string | null; entitlements: StiggGrant[] };
  try {
    held = await stiggStateOf(orgId);
  } catch (err) {
    return [`Stigg did not answer: ${postgresText(String((err as Error).message).slice(0, 120))}`];
  }
  const problems: string[] = [];
  if ((expected?.refId ?? null) !== held.planId) problems.push(`plan: database ${expected?.refId ?? "none"}, Stigg ${held.planId ?? "none"}`);
  const want = new Map((expected?.entitlements ?? []).map((e) => [e.featureId, e]));
  const have = new Map(held.entitlements.map((e) => [e.feature, e]));
  for (const feature of new Set([...want.keys(), ...have.keys()])) {
    const w = want.get(feature);
    const h = have.get(feature);
    const show = (e: { usageLimit?: number | null; limit?: number | null; hasUnlimitedUsage?: boolean; unlimited?: boolean } | undefined) =>
      !e ? "not granted" : (e.hasUnlimitedUsage ?? e.unlimited) ? "unlimited" : String(e.usageLimit ?? e.limit ?? "granted");
    if (show(w) !== show(h)) problems.push(`${feature}: database ${show(w)}, Stigg ${show(h)}`);
  }
  return problems;
}

async function recordDrift(orgId: string, problems: string[]): Promise<void> {
  if (problems.length === 0) {
    await db.delete(schema.stiggDrift).where(eq(schema.stiggDrift.orgId, orgId));
    return;
  }
  await db
    .insert(schema.stiggDrift)
    .values({ orgId, problems, checkedAt: new Date() })
    .onConflictDoUpdate({ target: schema.stiggDrift.orgId, set: { problems, checkedAt: dsql`now()` } });
}

export type StiggCheck = { checked: number; drifted: { orgId: string; problems: string[] }[]; remirrored: number };

/** `ops stigg:check`: every org with a subscription, compared; the findings recorded; each drifted org queued for a re-mirror. */
export async function checkStigg(): Promise<StiggCheck> {
  const orgs = await db.select({ orgId: schema.subscriptions.orgId }).from(schema.subscriptions).orderBy(schema.subscriptions.orgId);
  const drifted: StiggCheck["drifted"] = [];
  for (const { orgId } of orgs) {
    const problems = await driftOf(orgId);
    await recordDrift(orgId, problems);
    if (problems.length > 0) drifted.push({ orgId, problems });
  }
  for (const d of drifted) await followInStigg(d.orgId);
  return { checked: orgs.length, drifted, remirrored: drifted.length };
}

/** How many orgs the last check (or mirror) found drifted: /admin's figure. */
export async function stiggDriftCount(): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from stigg_drift`;
  return row?.n ?? 0;
}
