// Plan changes as setup → compute → execute; the preview is setup + compute.
// Upgrade: Stripe prorates at the preview's proration date and invoices now (anchor unchanged),
// so it charges exactly what the preview showed; the org's units rise before we answer.
// Between intervals: monthly → yearly is an upgrade (Stripe starts a yearly period now, crediting
// the month's unused time), yearly → monthly a downgrade at the end of the year. Within an
// interval, the higher price of that interval is the upgrade.
// Downgrade: a Stripe subscription schedule moves the subscription to the lower price at the
// period end; until then Stripe and the org keep the current plan, and the mirror's
// pending_plan_code is read from the schedule. Every Stripe mutation has a deterministic key.
// Each of these is a person's request: it answers within the request's Stripe deadline.

import type { z } from "zod";
import { isLive } from "../../subscription-status";
import type { planChangePreview } from "../api/schemas.server";
import { ID_PATTERN } from "../domain/vocabulary.server";
import { appendAudit } from "../events/audit.server";
import { emitEvent } from "../events/outbox.server";
import { emitPlanApplied } from "../notify/stripe-facts.server";
import { db, sql } from "../platform/db.server";
import { AppError } from "../platform/errors.server";
import { previewInStigg, stiggEnabled, stiggPlanId } from "../stigg/stigg.server";
import { applySubscription, retrieveMirrored } from "./converge.server";
import { oncePerKey, oneChangeAtATime } from "./idempotency.server";
import { type Plan, type PlanCode, planByCode, refreshCatalog } from "./plans.server";
import { clearScheduledChange, releaseSchedule, scheduleDowngradeAtPeriodEnd } from "./schedules.server";
import { callerDeadline, priceOf, upstream } from "./stripe.server";
import { overagePricesFor } from "./stripe-overage.server";
import { clockNow, previewPriceChange, updateSubscriptionPrice } from "./stripe-subscriptions.server";
import { subscriptionOf, subscriptionSummary } from "./subscriptions.server";

type Interval = "month" | "year";
type Change = {
  from: Plan;
  to: Plan;
  fromInterval: Interval;
  interval: Interval;
  kind: "upgrade" | "downgrade";
  orgId: string;
  stripeSubscriptionId: string;
  trialing: boolean;
  periodStart: Date;
};

/** A plan's price per interval (minor units); a plan without a yearly price cannot be chosen yearly. */
function priceFor(plan: Plan, interval: Interval): number {
  if (interval === "month") return plan.priceMonthly;
  if (plan.priceYearly === null)
    throw new AppError("VALIDATION_FAILED", `${plan.name} has no yearly price.`, { issues: [{ path: "interval", message: "no yearly price for this plan" }] });
  return plan.priceYearly;
}

const addMonths = (at: number, months: number) => {
  const next = new Date(at * 1000);
  next.setUTCMonth(next.getUTCMonth() + months);
  return next;
};

/** A preview's proration date older than this (in Stripe's clock) is refused: preview again. */
export const PREVIEW_TTL_SECONDS = 300;

async function setup(orgId: string, planCode: string, wanted?: Interval): Promise<Change> {
  await refreshCatalog();
  const to = planByCode(planCode);
  if (!to || to.trialDays)
    throw new AppError("VALIDATION_FAILED", `"${planCode}" is not a plan you can change to.`, { issues: [{ path: "planCode", message: "unknown plan" }] });
  const sub = await subscriptionOf(orgId);
  if (!sub || !isLive(sub.status) || !sub.stripeSubscriptionId)
    throw new AppError("SUBSCRIPTION_INACTIVE", "There is no live subscription to change; start one with Checkout.");
  const from = planByCode(sub.planCode)!;
  const fromInterval = sub.billingInterval === "year" ? "year" : "month";
  const interval = wanted ?? fromInterval;
  if (from.code === to.code && interval === fromInterval)
    throw new AppError("VALIDATION_FAILED", `The organisation is already on ${to.name}.`, { issues: [{ path: "planCode", message: "same plan" }] });
  priceFor(to, interval);
  const trialing = sub.status === "trialing";
  // From a trial every paid plan is an upgrade: it ends the trial now. Monthly → yearly starts a
  // yearly period now; yearly → monthly waits for the year's end.
  const kind =
    trialing || (fromInterval === "month" && interval === "year")
      ? "upgrade"
      : fromInterval === "year" && interval === "month"
        ? "downgrade"
        : priceFor(to, interval) > priceFor(from, interval)
          ? "upgrade"
          : "downgrade";
  return { from, to, fromInterval, interval, kind, orgId, stripeSubscriptionId: sub.stripeSubscriptionId, trialing, periodStart: sub.periodStart };
}

/** A plan change's figures (the API's `PlanChangePreview`): whose they are is `source` (Stripe's proration preview, or our own for a downgrade or the end of a trial); `stigg` is Stigg's non-money view. */
export type PlanChangePreview = z.infer<typeof planChangePreview>;

async function compute(change: Change): Promise<Omit<PlanChangePreview, "stigg">> {
  const state = await retrieveMirrored(change.stripeSubscriptionId);
  const at = await clockNow(state.customerId);
  const base = {
    from: change.from.code,
    to: change.to.code,
    interval: change.interval,
    change: change.kind,
    currency: change.to.currency,
    nextInvoiceAmount: priceFor(change.to, change.interval),
    includedUnits: change.to.includedUnits.api_call ?? 0,
    source: "local" as PlanChangePreview["source"],
    prorationDate: at,
  };
  if (change.kind === "downgrade") {
    return { ...base, effective: "period_end", amountDueNow: 0, nextInvoiceAt: state.periodEnd.toISOString(), lines: [] };
  }
  const months = change.interval === "year" ? 12 : 1;
  if (change.trialing) {
    // Ending the trial starts a paid period now, billed in full; the next one an interval later.
    return {
      ...base,
      effective: "now",
      amountDueNow: priceFor(change.to, change.interval),
      nextInvoiceAt: addMonths(at, months).toISOString(),
      lines: [{ description: `1 × ${change.to.name}`, amount: priceFor(change.to, change.interval) }],
    };
  }
  const preview = await previewPriceChange({
    subscriptionId: state.id,
    itemId: state.itemId,
    meteredItems: state.meteredItems,
    customerId: state.customerId,
    priceId: await priceOf(change.to.code, change.interval),
    metered: await overagePricesFor(change.to.code, change.interval),
    prorationDate: at,
  });
  // Another interval starts a new period now (Stripe resets the billing cycle); the same keeps its end.
  const nextInvoiceAt = change.interval === change.fromInterval ? state.periodEnd : addMonths(at, months);
  return {
    ...base,
    source: "stripe",
    effective: "now",
    amountDueNow: preview.amountDue,
    nextInvoiceAt: nextInvoiceAt.toISOString(),
    lines: preview.lines,
  };
}

/** Stigg's non-money view of moving to the plan's newest version (its own plan in Stigg); null when Stigg is off. */
async function stiggPreview(orgId: string, planCode: string) {
  if (!stiggEnabled()) return null;
  const [row] = await sql<
    { v: number }[]
  >`select plan_version as v from catalog_version_plans where plan_code = ${planCode} order by catalog_version desc limit 1`;
  return row ? previewInStigg(orgId, stiggPlanId(planCode, row.v)) : null;
}

/** Preview: what the change would cost, changing nothing anywhere. */
export const previewPlanChange = (orgId: string, planCode: string, interval?: Interval): Promise<PlanChangePreview> =>
  callerDeadline(() => preview(orgId, planCode, interval));

async function preview(orgId: string, planCode: string, interval?: Interval): Promise<PlanChangePreview> {
  const change = await setup(orgId, planCode, interval);
  // Stripe's figures are the money. Stigg's preview runs beside them, time-boxed (≤ 500 ms), and
  // adds only what is not money; a slow or absent Stigg delays nothing beyond its box.
  const [preview, stigg] = await Promise.all([upstream(() => compute(change)), stiggPreview(orgId, change.to.code)]);
  return { ...preview, stigg };
}

// Sent on to Stripe inside its own key, so it must be short and plain (the API and the portal form).
const IDEMPOTENCY_KEY = ID_PATTERN;

/** The preview's proration date, checked against Stripe's clock: not from the future, not stale. */
async function checkProrationDate(change: Change, customerId: string, prorationDate: number) {
  const now = await clockNow(customerId);
  if (prorationDate > now + 60 || prorationDate < Math.floor(change.periodStart.getTime() / 1000))
    throw new AppError("VALIDATION_FAILED", "prorationDate must come from a preview of the current period.", {
      issues: [{ path: "prorationDate", message: "outside the current period" }],
    });
  if (now - prorationDate > PREVIEW_TTL_SECONDS)
    throw new AppError("PREVIEW_EXPIRED", "This preview is more than 5 minutes old; preview the change again to see its current cost.", {
      prorationDate,
      now,
    });
}

/**
 * Upgrade now at the preview's proration date. A retry with the same idempotency key (or,
 * without one, of the same change in the same period) answers the original success and never
 * charges twice; so does a request sent again while the first is still running: it waits for
 * the first's answer (one change, one audit entry per key).
 */
export const upgradeNow = (orgId: string, planCode: string, opts: UpgradeOptions = {}) => callerDeadline(() => upgrade(orgId, planCode, opts));

type UpgradeOptions = { idempotencyKey?: string | null; prorationDate?: number | null; interval?: Interval };

async function upgrade(orgId: string, planCode: string, opts: UpgradeOptions): Promise<Awaited<ReturnType<typeof subscriptionSummary>>> {
  if (opts.idempotencyKey != null && !IDEMPOTENCY_KEY.test(opts.idempotencyKey))
    throw new AppError("VALIDATION_FAILED", "Idempotency-Key must be 1–128 characters of A-Z a-z 0-9 . _ : -", {
      issues: [{ path: "Idempotency-Key", message: "invalid" }],
    });
  const mirror = await subscriptionOf(orgId);
  // A yearly target names its interval (the same key for another interval is another change).
  const target = opts.interval === "year" ? `${planCode}:year` : planCode;
  const key = opts.idempotencyKey
    ? `upgrade:${orgId}:${opts.idempotencyKey}`
    : `upgrade:${orgId}:${target}:${mirror?.periodStart.toISOString() ?? "none"}:${opts.prorationDate ?? "now"}`;
  let from: PlanCode | null = null;
  return oncePerKey(
    { orgId, key, scope: target },
    () =>
      oneChangeAtATime(orgId, async () => {
        const change = await setup(orgId, planCode, opts.interval);
        if (change.kind !== "upgrade")
          throw new AppError("VALIDATION_FAILED", `${change.to.name} costs less than ${change.from.name}: schedule a downgrade instead.`, {
            issues: [{ path: "planCode", message: "not an upgrade" }],
          });
        from = change.from.code;
        const state = await upstream(async () => {
          const current = await retrieveMirrored(change.stripeSubscriptionId);
          if (opts.prorationDate && !change.trialing) await checkProrationDate(change, current.customerId, opts.prorationDate);
          // A pending downgrade is cleared first: the schedule would move the price back at the period end.
          if (current.scheduleId) await releaseSchedule(current.scheduleId);
          return updateSubscriptionPrice({
            subscriptionId: change.stripeSubscriptionId,
            priceId: await priceOf(change.to.code, change.interval),
            metered: await overagePricesFor(change.to.code, change.interval),
            endTrial: change.trialing,
            prorationDate: opts.prorationDate ?? null,
            idempotencyKey: key,
          });
        });
        // Units rise before we answer; the webhook that follows converges to the same state.
        await applySubscription(orgId, state);
        await emitPlanApplied(db, change.from.code, { ...state, orgId, planCode: change.to.code });
        return subscriptionSummary(orgId);
      }),
    // Stored with the answer, by the one request that made the change.
    (tx, _answer) => appendAudit({ orgId, action: "plan.upgraded", target: planCode, details: { from, interval: opts.interval ?? null } }, tx),
  );
}

/** Schedules a downgrade for the period end (a second one replaces the first). */
export const scheduleDowngrade = (orgId: string, planCode: string, interval?: Interval) =>
  callerDeadline(() => oneChangeAtATime(orgId, () => downgradeAtPeriodEnd(orgId, planCode, interval)));

async function downgradeAtPeriodEnd(orgId: string, planCode: string, interval?: Interval) {
  const change = await setup(orgId, planCode, interval);
  if (change.kind !== "downgrade")
    throw new AppError("VALIDATION_FAILED", `${change.to.name} is not cheaper than ${change.from.name}: upgrade instead.`, {
      issues: [{ path: "planCode", message: "not a downgrade" }],
    });
  const state = await upstream(async () => {
    const current = await retrieveMirrored(change.stripeSubscriptionId);
    // A schedule on a subscription set to cancel would end it on the lower plan: the last period
    // would read as the new plan's, canceled. The cancellation is withdrawn first, or kept alone.
    if (current.cancelAtPeriodEnd)
      throw new AppError("VALIDATION_FAILED", "Your subscription is set to cancel at the period end: keep it first, then schedule the downgrade.", {
        issues: [{ path: "planCode", message: "the subscription is set to cancel" }],
      });
    const priceId = await priceOf(change.to.code, change.interval);
    if (current.scheduledPriceId === priceId) return current;
    return scheduleDowngradeAtPeriodEnd(orgId, current, {
      priceId,
      planCode: change.to.code,
      metered: await overagePricesFor(change.to.code, change.interval),
    });
  });
  await applySubscription(orgId, state);
  const summary = await subscriptionSummary(orgId);
  await appendAudit({ orgId, action: "downgrade.scheduled", target: change.to.code, details: { from: change.from.code } });
  await emitEvent({
    orgId,
    type: "subscription.downgrade_scheduled",
    data: { planCode: change.from.code, toPlanCode: change.to.code, effectiveAt: state.periodEnd.toISOString() },
  });
  return summary;
}

/** Cancels the scheduled downgrade: keep the current plan after all (the schedule's pending phase is removed). */
export const cancelDowngrade = (orgId: string) => callerDeadline(() => oneChangeAtATime(orgId, () => keepCurrentPlan(orgId)));

async function keepCurrentPlan(orgId: string) {
  const sub = await subscriptionOf(orgId);
  if (!sub?.pendingPlanCode || !sub.stripeSubscriptionId) throw new AppError("NOT_FOUND", "There is no scheduled downgrade.");
  const subscriptionId = sub.stripeSubscriptionId;
  const state = await upstream(async () => clearScheduledChange(orgId, await retrieveMirrored(subscriptionId)));
  await applySubscription(orgId, state);
  await appendAudit({ orgId, action: "downgrade.canceled", target: sub.pendingPlanCode });
  await emitEvent({ orgId, type: "subscription.downgrade_canceled", data: { planCode: sub.planCode, canceledPlanCode: sub.pendingPlanCode } });
  return subscriptionSummary(orgId);
}
