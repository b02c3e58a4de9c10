// Organisations and the subscription mirror as the rest of the system reads them.
import { eq, sql as dsql } from "drizzle-orm";
import { addMonths, addDays } from "date-fns";
import { db, schema } from "../platform/db.server";
import { AppError, NotFound } from "../platform/errors.server";
import { planByCode, type PlanCode } from "../billing/plans.server";

const ORG_ID = /^org_[A-Za-z0-9_-]{1,64}$/;

export async function createOrg(input: { id: string; name?: string; email?: string }) {
  if (!ORG_ID.test(input.id))
    throw new AppError("VALIDATION_FAILED", "An org id looks like org_ followed by 1–64 letters, digits, _ or -.", {
      issues: [{ path: "orgId", message: "invalid org id" }],
    });
  const [row] = await db
    .insert(schema.organisations)
    .values({ id: input.id, name: input.name ?? input.id, ownerEmail: input.email ?? null })
    .onConflictDoNothing()
    .returning();
  if (!row) throw new AppError("VALIDATION_FAILED", `Organisation ${input.id} already exists.`, { issues: [{ path: "orgId", message: "already exists" }] });
  return { id: row.id, name: row.name, createdAt: row.createdAt.toISOString() };
}

/**
 * The dev sign-in's claim on an org: creates it owned by `email`, or makes `email` the owner of
 * an org that has none, and answers the owner after the statement. One statement: of two
 * concurrent first sign-ins, the second waits on the row and sees the first one's owner.
 */
export async function claimOrg(input: { id: string; name: string; email: string }): Promise<{ ownerEmail: string }> {
  const [row] = await db
    .insert(schema.organisations)
    .values({ id: input.id, name: input.name, ownerEmail: input.email })
    .onConflictDoUpdate({ target: schema.organisations.id, set: { ownerEmail: dsql`coalesce(organisations.owner_email, excluded.owner_email)` } })
    .returning({ ownerEmail: schema.organisations.ownerEmail });
  return { ownerEmail: row.ownerEmail! };
}

export async function getOrg(orgId: string) {
  const [row] = await db.select().from(schema.organisations).where(eq(schema.organisations.id, orgId));
  if (!row) throw NotFound("Organisation");
  return row;
}

/**
 * Writes the subscription mirror directly: a one-month period from now, `trialing` with the
 * trial's length for `trial`. Used where Stripe is not in the loop (tests, the bench); the
 * Stripe path converges the same row from webhooks.
 */
export async function setSubscriptionMirror(input: { orgId: string; planCode: PlanCode; start?: Date; status?: string }) {
  const plan = planByCode(input.planCode);
  if (!plan) throw new AppError("VALIDATION_FAILED", `Unknown plan "${input.planCode}".`, { issues: [{ path: "planCode", message: "unknown plan" }] });
  await getOrg(input.orgId);
  const start = input.start ?? new Date();
  const end = plan.trialDays ? addDays(start, plan.trialDays) : addMonths(start, 1);
  const status = input.status ?? (plan.trialDays ? "trialing" : "active");
  const row = {
    orgId: input.orgId,
    planCode: plan.code,
    status,
    periodStart: start,
    periodEnd: end,
    trialEnd: plan.trialDays ? end : null,
    cancelAtPeriodEnd: false,
    pendingPlanCode: null,
    updatedAt: new Date(),
  };
  await db.transaction(async (tx) => {
    // Same lock order as record_usage: the subscription row first.
    await tx.execute(dsql`select 1 from subscriptions where org_id = ${input.orgId} for no key update`);
    await tx.insert(schema.subscriptions).values(row).onConflictDoUpdate({ target: schema.subscriptions.orgId, set: row });
  });
  return subscriptionSummary(input.orgId);
}

export async function subscriptionSummary(orgId: string) {
  const [s] = await db.select().from(schema.subscriptions).where(eq(schema.subscriptions.orgId, orgId));
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
  };
}
