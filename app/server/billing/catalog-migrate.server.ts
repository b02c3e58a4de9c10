// Grandfathering moves (ops catalog:migrate): the subscribers of one plan version move to
// another, at their renewal or now. At renewal, a Stripe subscription schedule moves the item to
// the target version's price at the period end (when the prices differ), and the mirror's
// pending_plan_version is applied by convergence when Stripe starts that period. Now, the item
// moves at once, prorated and invoiced exactly as an upgrade (Stripe's preview at the same
// proration date, then the change), and the period's units become the target version's.
// Every Stripe mutation has a deterministic key: running the same move again finds it done.
import { and, desc, eq, inArray } from "drizzle-orm";
import { isLive, LIVE_STATUSES } from "../../subscription-status";
import { appendAudit } from "../events/audit.server";
import { db, schema } from "../platform/db.server";
import { AppError } from "../platform/errors.server";
import { applySubscription, retrieveMirrored } from "./converge.server";
import { oneChangeAtATime } from "./idempotency.server";
import { refreshCatalog } from "./plans.server";
import { scheduleDowngradeAtPeriodEnd } from "./schedules.server";
import { priceOf, upstream } from "./stripe.server";
import { overagePricesFor } from "./stripe-overage.server";
import { clockNow, previewPriceChange, updateSubscriptionPrice } from "./stripe-subscriptions.server";
import { lockSubscription, setPlanVersion } from "./subscriptions.server";

export type MigrationTiming = "renewal" | "now";
export type MigratedSubscriber = {
  orgId: string;
  interval: "month" | "year";
  /** The Stripe price changed (the versions' prices differ). */
  priceChanged: boolean;
  /** `now`: what the move invoiced (Stripe's proration, as its preview showed); 0 at renewal. */
  amountDueNow: number;
  effectiveAt: string;
};
export type MigrationResult = {
  planCode: string;
  from: number;
  to: number;
  at: MigrationTiming;
  subscribers: MigratedSubscriber[];
  /** Not moved: a downgrade to another plan is scheduled (they leave the plan at renewal), or they left the version while the move ran. */
  skipped: { orgId: string; reason: string }[];
};

/** The Stripe price a plan version bills per interval: the one published with it, else (the current version) the plan's current price. */
async function versionPrice(planCode: string, version: number, interval: "month" | "year"): Promise<string> {
  const [row] = await db
    .select()
    .from(schema.planVersions)
    .where(and(eq(schema.planVersions.planCode, planCode), eq(schema.planVersions.version, version)));
  const published = interval === "year" ? row?.stripePriceYear : row?.stripePriceMonth;
  if (published) return published;
  const [current] = await db
    .select({ version: schema.catalogVersionPlans.planVersion })
    .from(schema.catalogVersionPlans)
    .where(eq(schema.catalogVersionPlans.planCode, planCode))
    .orderBy(desc(schema.catalogVersionPlans.catalogVersion))
    .limit(1);
  if (current?.version !== version)
    throw new AppError("VALIDATION_FAILED", `${planCode} v${version} was published without a Stripe ${interval}ly price; push it again with Stripe reachable.`);
  return priceOf(planCode, interval);
}

async function checkVersions(planCode: string, from: number, to: number): Promise<void> {
  if (from === to) throw new AppError("VALIDATION_FAILED", "--from and --to name the same version: nothing to move.");
  const [plan] = await db.select({ code: schema.plans.code }).from(schema.plans).where(eq(schema.plans.code, planCode));
  if (!plan) throw new AppError("VALIDATION_FAILED", `unknown plan ${planCode}; \`bun run ops catalog:show\` lists the plans.`);
  const rows = await db
    .select({ version: schema.planVersions.version, priceOf: schema.planVersions.priceOf })
    .from(schema.planVersions)
    .where(and(eq(schema.planVersions.planCode, planCode), inArray(schema.planVersions.version, [from, to])));
  for (const v of [from, to])
    if (!rows.some((r) => r.version === v))
      throw new AppError("VALIDATION_FAILED", `${planCode} has no version ${v}; \`bun run ops catalog:show\` lists each plan's versions.`);
  if (rows.some((r) => r.priceOf)) throw new AppError("VALIDATION_FAILED", `${planCode} is a trial: its subscribers move when it converts.`);
}

/** Moves every live subscriber of `planCode` version `from` to version `to`; `progress` is told each one. */
export async function migrateSubscribers(
  input: { planCode: string; from: number; to: number; at: MigrationTiming },
  progress: (line: string) => void = () => {},
): Promise<MigrationResult> {
  const { planCode, from, to, at } = input;
  await refreshCatalog();
  await checkVersions(planCode, from, to);
  progress(`moving ${planCode} subscribers from v${from} to v${to} (${at === "now" ? "now, prorated" : "at their renewal"})…`);
  const subscribers = await db
    .select()
    .from(schema.subscriptions)
    .where(
      and(eq(schema.subscriptions.planCode, planCode), eq(schema.subscriptions.planVersion, from), inArray(schema.subscriptions.status, [...LIVE_STATUSES])),
    );
  const moved: MigratedSubscriber[] = [];
  const skipped: MigrationResult["skipped"] = [];
  for (const listed of subscribers) {
    // In the org's turn (a person's upgrade or downgrade may be under way): the subscription is
    // read again there, and one that left the version meanwhile is not moved back onto it.
    const outcome = await oneChangeAtATime(listed.orgId, () => moveOne(listed.orgId, input));
    if ("reason" in outcome) {
      skipped.push(outcome);
      progress(`  ${outcome.orgId}: skipped, ${outcome.reason}`);
      continue;
    }
    progress(
      `  ${outcome.orgId}: ${planCode} v${from} → v${to} ${at === "now" ? `now (charged ${outcome.amountDueNow})` : `at renewal (${outcome.effectiveAt})`}`,
    );
    moved.push(outcome);
  }
  return { planCode, from, to, at, subscribers: moved, skipped };
}

/**
 * Moves one subscriber, read again in its org's turn: the reason it is not moved when it left
 * the plan version (another plan, version or an ended subscription) since the list was read, or
 * has a downgrade scheduled.
 */
async function moveOne(
  orgId: string,
  input: { planCode: string; from: number; to: number; at: MigrationTiming },
): Promise<MigratedSubscriber | { orgId: string; reason: string }> {
  const { planCode, from, to, at } = input;
  const [sub] = await db.select().from(schema.subscriptions).where(eq(schema.subscriptions.orgId, orgId));
  if (!sub?.stripeSubscriptionId || sub.planCode !== planCode || sub.planVersion !== from || !isLive(sub.status))
    return { orgId, reason: `it left ${planCode} v${from} while the move ran` };
  if (sub.pendingPlanCode) return { orgId, reason: `a downgrade to ${sub.pendingPlanCode} is scheduled` };
  const subscriptionId = sub.stripeSubscriptionId;
  const interval = sub.billingInterval === "year" ? "year" : "month";
  const one = await upstream(async () => {
    const priceId = await versionPrice(planCode, to, interval);
    // The version migrated to is the current catalog's: its overage prices are the ones found by lookup key.
    const metered = await overagePricesFor(planCode, interval);
    const state = await retrieveMirrored(subscriptionId);
    const priceChanged = state.priceId !== priceId;
    if (at === "renewal") {
      // Moved before (the same target already scheduled): nothing more to ask Stripe.
      const after =
        priceChanged && state.scheduledPriceId !== priceId ? await scheduleDowngradeAtPeriodEnd(sub.orgId, state, { priceId, planCode, metered }) : state;
      await db.transaction(async (tx) => {
        await lockSubscription(tx, sub.orgId);
        await setPlanVersion(tx, sub.orgId, { pendingPlanVersion: to });
      });
      await applySubscription(sub.orgId, after);
      return { orgId: sub.orgId, interval, priceChanged, amountDueNow: 0, effectiveAt: after.periodEnd.toISOString() } satisfies MigratedSubscriber;
    }
    let amountDueNow = 0;
    let after = state;
    if (priceChanged) {
      // As an upgrade: Stripe's preview at a proration date, then the change at that same date.
      const prorationDate = await clockNow(state.customerId);
      const preview = await previewPriceChange({
        subscriptionId,
        itemId: state.itemId,
        meteredItems: state.meteredItems,
        customerId: state.customerId,
        priceId,
        metered,
        prorationDate,
      });
      after = await updateSubscriptionPrice({
        subscriptionId,
        priceId,
        metered,
        endTrial: false,
        prorationDate,
        idempotencyKey: `migrate:${sub.orgId}:${planCode}:v${from}:v${to}`,
      });
      amountDueNow = preview.amountDue;
    }
    await db.transaction(async (tx) => {
      await lockSubscription(tx, sub.orgId);
      await setPlanVersion(tx, sub.orgId, { planVersion: to, pendingPlanVersion: null });
    });
    // The period's units become the new version's (convergence reads the mirror's version).
    if (isLive(after.status)) await applySubscription(sub.orgId, after);
    return { orgId: sub.orgId, interval, priceChanged, amountDueNow, effectiveAt: new Date().toISOString() } satisfies MigratedSubscriber;
  });
  await appendAudit({ orgId: sub.orgId, action: "plan_version.migrated", target: planCode, details: { from, to, at, amountDueNow: one.amountDueNow } });
  return one;
}
