// A cancellation set for the period end (from the Stripe portal), withdrawn from the billing
// page: "Keep my plan". Stripe's own switch (`cancel_at_period_end`), then the mirror; no money
// moves, the subscription simply renews as it would have.
import { isLive } from "../../subscription-status";
import { appendAudit } from "../events/audit.server";
import { AppError } from "../platform/errors.server";
import { applySubscription, retrieveMirrored } from "./converge.server";
import { oneChangeAtATime } from "./idempotency.server";
import { callerDeadline, upstream } from "./stripe.server";
import { resumeSubscription } from "./stripe-subscriptions.server";
import { subscriptionOf, subscriptionSummary } from "./subscriptions.server";

/** Keeps the org's plan past the period end, within the request's Stripe deadline; `wasCanceling`: false when it renewed anyway. */
export const keepSubscription = (orgId: string) => callerDeadline(() => oneChangeAtATime(orgId, () => withdrawCancellation(orgId)));

async function withdrawCancellation(orgId: string) {
  const sub = await subscriptionOf(orgId);
  if (!sub?.stripeSubscriptionId || !isLive(sub.status))
    throw new AppError("SUBSCRIPTION_INACTIVE", "There is no live subscription to keep; start one with Checkout.");
  const subscriptionId = sub.stripeSubscriptionId;
  // Stripe's word, not the mirror's, on whether a cancellation was set: the page says which it was.
  let wasCanceling = false;
  const state = await upstream(async () => {
    const current = await retrieveMirrored(subscriptionId);
    wasCanceling = current.cancelAtPeriodEnd;
    // Already renewing (a second click, or the Stripe portal got there first): nothing to change.
    if (!current.cancelAtPeriodEnd) return current;
    if (current.scheduleId)
      throw new AppError("VALIDATION_FAILED", "A plan change is scheduled for this subscription: keep your current plan first, then keep the subscription.");
    // One key per period: a retry of the same click changes nothing more.
    return resumeSubscription({ subscriptionId, idempotencyKey: `resume:${subscriptionId}:${current.periodEnd.getTime()}` });
  });
  await applySubscription(orgId, state);
  if (sub.cancelAtPeriodEnd) await appendAudit({ orgId, action: "subscription.resumed", target: sub.planCode });
  return { subscription: (await subscriptionSummary(orgId))!, wasCanceling };
}
