// The subscription mirror: the local copy of each org's Stripe subscription, which the hot path
// reads. This is the only module that writes the `subscriptions` table (a test checks it); the
// others read it through here or call these writers.
import { sql as dsql, eq } from "drizzle-orm";
import { config } from "../platform/config.server";
import type { Tx } from "../platform/db.server";
import { db, schema, sql } from "../platform/db.server";

export type SubscriptionRow = typeof schema.subscriptions.$inferSelect;
type SubscriptionWrite = typeof schema.subscriptions.$inferInsert;

export type { Tx } from "../platform/db.server";

/** The org's mirror row, or undefined when it never had a subscription. */
export async function subscriptionOf(orgId: string): Promise<SubscriptionRow | undefined> {
  const [row] = await db.select().from(schema.subscriptions).where(eq(schema.subscriptions.orgId, orgId));
  return row;
}

export async function subscriptionSummary(orgId: string) {
  const s = await subscriptionOf(orgId);
  if (!s) return null;
  return {
    orgId,
    planCode: s.planCode,
    status: s.status,
    periodStart: s.periodStart.toISOString(),
    periodEnd: s.periodEnd.toISOString(),
    trialEnd: s.trialEnd?.toISOString() ?? null,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    pendingPlanCode: s.pendingPlanCode,
    pendingInterval: pendingIntervalOf(s),
    interval: s.billingInterval as "month" | "year",
  };
}

/**
 * How often the plan of the scheduled change bills. A mirror converged before convergence wrote it
 * knows only the plan: the same plan's change is one of interval (a version move is kept out of
 * pending_plan_code), another plan's keeps the interval, until the next convergence says.
 */
function pendingIntervalOf(s: {
  pendingPlanCode: string | null;
  pendingBillingInterval: string | null;
  planCode: string;
  billingInterval: string;
}): "month" | "year" | null {
  if (s.pendingPlanCode === null) return null;
  if (s.pendingBillingInterval === "month" || s.pendingBillingInterval === "year") return s.pendingBillingInterval;
  const current = s.billingInterval === "year" ? "year" : "month";
  return s.pendingPlanCode !== s.planCode ? current : current === "year" ? "month" : "year";
}

/** When the org's past_due subscription stops admitting usage (grace_ends in SQL), or null if it is not past due. */
export async function pastDueGraceEnds(orgId: string): Promise<string | null> {
  const [row] = await sql<{ ms: number }[]>`
    select extract(epoch from grace_ends(period_start, make_interval(days => ${config.PAST_DUE_GRACE_DAYS}))) * 1000 as ms
      from subscriptions where org_id = ${orgId} and status = 'past_due'`;
  return row ? new Date(Number(row.ms)).toISOString() : null;
}

/**
 * Subscriptions whose period ended over a minute ago and that renew: the rollover's work list
 * (at most 500 a run).
 */
export async function overdueSubscriptions(): Promise<{ org_id: string; stripe_subscription_id: string | null }[]> {
  return sql<{ org_id: string; stripe_subscription_id: string | null }[]>`
    select org_id, stripe_subscription_id from subscriptions
     where period_end < now() - interval '1 minute' and status in ('active', 'trialing') and not cancel_at_period_end
     limit 500`;
}

/**
 * The allowance month of the org's mirror (org_period) at `now`, kept within the billed period
 * the mirror holds: where a yearly subscription's counter is, as the hot path will count it.
 */
export async function allowancePeriod(tx: Tx, orgId: string): Promise<{ periodStart: Date; periodEnd: Date } | null> {
  const rows = await tx.execute<{ period_start: string; period_end: string }>(dsql`
    select p.period_start, p.period_end
      from subscriptions s
     cross join lateral org_period(s, least(greatest(now(), s.period_start), s.period_end - interval '1 millisecond'), interval '0') p
     where s.org_id = ${orgId}`);
  const row = rows[0];
  return row ? { periodStart: new Date(row.period_start), periodEnd: new Date(row.period_end) } : null;
}

/**
 * Takes the org's row lock inside `tx` and answers the row as it is now. The same lock every
 * usage writer takes first (see record_usage), so it must come before any counter's.
 */
export async function lockSubscription(tx: Tx, orgId: string): Promise<SubscriptionRow | undefined> {
  const [row] = await tx.select().from(schema.subscriptions).where(eq(schema.subscriptions.orgId, orgId)).for("no key update");
  return row;
}

/** Inserts or replaces the org's mirror row inside `tx` (take lockSubscription first). */
export async function upsertSubscription(tx: Tx, row: SubscriptionWrite): Promise<void> {
  await tx.insert(schema.subscriptions).values(row).onConflictDoUpdate({ target: schema.subscriptions.orgId, set: row });
}

/**
 * A plan version move (catalog:migrate) inside `tx` (take lockSubscription first): `planVersion`
 * now, or `pendingPlanVersion` for convergence to apply when the next period starts.
 */
export async function setPlanVersion(tx: Tx, orgId: string, move: { planVersion?: number; pendingPlanVersion: number | null }): Promise<void> {
  await tx
    .update(schema.subscriptions)
    .set({ ...move, updatedAt: new Date() })
    .where(eq(schema.subscriptions.orgId, orgId));
}

/**
 * Ends the org's mirror inside `tx` (take lockSubscription first): Stripe no longer has its
 * subscription (it went with its deleted customer), so it is `canceled`, nothing pending.
 */
export async function endGoneSubscription(tx: Tx, orgId: string): Promise<void> {
  await tx
    .update(schema.subscriptions)
    .set({
      status: "canceled",
      cancelAtPeriodEnd: false,
      pendingPlanCode: null,
      pendingBillingInterval: null,
      stripeUpdatedAt: new Date(),
      updatedAt: new Date(),
    })
    .where(eq(schema.subscriptions.orgId, orgId));
}

/**
 * Rolls the org's mirror forward with the hot path's own rule (org_period): the period usage is
 * counted in now, with the pending downgrade applied. Nothing changes unless that period starts
 * after the mirror's.
 */
export async function rollForwardLocally(orgId: string, graceDays: number): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select 1 from subscriptions where org_id = ${orgId} for no key update`;
    await tx`
      update subscriptions s
         set plan_code = p.plan_code, status = p.status, period_start = p.billing_period_start, period_end = p.billing_period_end,
             pending_plan_code = null, pending_plan_version = null, updated_at = now(),
             -- the same plan keeps its version (or takes the one a catalog:migrate left pending);
             -- another plan (a renewal, a downgrade) starts on its newest
             plan_version = case when p.plan_code = s2.plan_code then coalesce(s2.pending_plan_version, s2.plan_version)
                                 else (select sold.plan_version from catalog_version_plans sold
                                        where sold.plan_code = p.plan_code order by sold.catalog_version desc limit 1) end
        from subscriptions s2
       cross join lateral org_period(s2, now(), ${`${graceDays} days`}::interval) p
       where s2.org_id = ${orgId} and s.org_id = s2.org_id and p.live and p.billing_period_start > s.period_start`;
  });
}

/**
 * Pins every subscription not yet on a plan version to its plan's version in `catalogVersion`
 * (the one about to be replaced), inside the publishing transaction: it keeps the terms it was
 * sold, and the new catalog applies to new subscribers only.
 */
export async function pinPlanVersions(tx: Tx, catalogVersion: number): Promise<void> {
  await tx.execute(dsql`
    update subscriptions s set plan_version = sold.plan_version
      from catalog_version_plans sold
     where s.plan_version is null and sold.catalog_version = ${catalogVersion} and sold.plan_code = s.plan_code`);
}
