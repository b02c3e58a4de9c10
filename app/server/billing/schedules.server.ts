// Downgrades at the period end as Stripe models them: a subscription schedule whose first phase
// is the current price until the period end and whose second is the lower price, ending by
// release. Stripe, its portal and any proration keep seeing the current plan until the boundary.
// Part of the Stripe module (it uses its client); every mutation has a deterministic key.
import { stripe } from "./stripe.server";
import { retrieveSubscription, type SubscriptionState } from "./stripe-subscriptions.server";

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

async function openSchedule(orgId: string, state: SubscriptionState) {
  if (state.scheduleId) return stripe.subscriptionSchedules.retrieve(state.scheduleId);
  return stripe.subscriptionSchedules.create(
    { from_subscription: state.id },
    // One schedule per subscription, price and period: a retry finds the one already made.
    { idempotencyKey: `schedule:${orgId}:${state.id}:${state.priceId}:${seconds(state.periodStart)}` },
  );
}

/**
 * Sets the schedule's phases: the current price until the period end, then `nextPriceId` (or
 * nothing more). Each change bumps the schedule's `revision`, so a later change back to an
 * earlier target is a new request to Stripe, while a retry of the same change replays.
 */
async function setPhases(orgId: string, state: SubscriptionState, next: { priceId: string; planCode: string } | null): Promise<SubscriptionState> {
  const schedule = await openSchedule(orgId, state);
  const revision = Number(schedule.metadata?.revision ?? 0);
  const start = schedule.current_phase?.start_date ?? schedule.phases[0].start_date;
  await stripe.subscriptionSchedules.update(
    schedule.id,
    {
      end_behavior: "release",
      proration_behavior: "none",
      metadata: { org_id: orgId, revision: String(revision + 1) },
      phases: [
        { items: [{ price: state.priceId }], start_date: start, end_date: seconds(state.periodEnd) },
        ...(next ? [{ items: [{ price: next.priceId }], duration: { interval: "month" as const, interval_count: 1 } }] : []),
      ],
    },
    { idempotencyKey: `downgrade:${orgId}:${next?.planCode ?? "none"}:${seconds(state.periodStart)}:r${revision}` },
  );
  return retrieveSubscription(state.id);
}

export const scheduleDowngradeAtPeriodEnd = (orgId: string, state: SubscriptionState, next: { priceId: string; planCode: string }) =>
  setPhases(orgId, state, next);

/** Removes the pending phase; the schedule releases itself at the period end. */
export const clearScheduledChange = (orgId: string, state: SubscriptionState) => (state.scheduleId ? setPhases(orgId, state, null) : Promise.resolve(state));

/** Detaches the schedule from its subscription (after it applied its change, or before an upgrade). */
export async function releaseSchedule(scheduleId: string): Promise<void> {
  await stripe.subscriptionSchedules.release(scheduleId, {}, { idempotencyKey: `release:${scheduleId}` });
}
