// Downgrades at the period end as Stripe models them: a subscription schedule whose first phase
// is the current price until the period end and whose second is the lower price, ending by
// release. Stripe, its portal and any proration keep seeing the current plan until the boundary.
// Part of the Stripe module (it uses its client); every mutation has a deterministic key.
import { stripe } from "./stripe.server";
import { requestKey } from "./stripe-keys.server";
import type { MeteredPrice } from "./stripe-overage.server";
import { retrieveSubscription, type SubscriptionState } from "./stripe-subscriptions.server";

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
const OPEN = new Set(["not_started", "active"]);
// The SDK's types, through the client (only the stripe*.server.ts modules import the package).
type Schedules = typeof stripe.subscriptionSchedules;
type Schedule = Awaited<ReturnType<Schedules["retrieve"]>>;
type UpdateParams = NonNullable<Parameters<Schedules["update"]>[1]>;

/**
 * The subscription's open schedule, made from it when it has none. One per subscription, price
 * and period: a retry finds the one already made. Stripe replays a key's first answer for 24
 * hours, as it was then, also once that schedule has been released (in the Dashboard): so the
 * schedule is read again, and if it is no longer open the next is made under a key naming it.
 */
async function openSchedule(orgId: string, state: SubscriptionState): Promise<Schedule> {
  if (state.scheduleId) return stripe.subscriptionSchedules.retrieve(state.scheduleId);
  const params: Parameters<Schedules["create"]>[0] = { from_subscription: state.id };
  let prefix = `schedule:${orgId}:${state.id}:${state.priceId}:${seconds(state.periodStart)}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    const made = await stripe.subscriptionSchedules.create(params, { idempotencyKey: requestKey(prefix, params) });
    const now = await stripe.subscriptionSchedules.retrieve(made.id);
    if (OPEN.has(now.status)) return now;
    prefix = `schedule:${orgId}:${state.id}:after:${made.id}`;
  }
  throw new Error(`subscription ${state.id}: every schedule made for it was released at once`);
}

type ScheduleSeen = { id: string; metadata: Record<string, string> | null; current_phase: { start_date: number } | null; phases: { start_date: number }[] };

/**
 * The update that sets the schedule's phases: the current price until the period end, then
 * `next`'s price (or nothing more). Each change bumps the schedule's `revision`, so a later
 * change back to an earlier target is a new request to Stripe, while a retry of the same change
 * replays. The key names the schedule and digests the whole body: another schedule (a new one
 * starts at revision 0 again) or another body is another key.
 */
export function phasesUpdate(
  orgId: string,
  schedule: ScheduleSeen,
  state: Pick<SubscriptionState, "priceId" | "periodEnd"> & { meteredItems?: SubscriptionState["meteredItems"] },
  next: { priceId: string; metered?: MeteredPrice[] } | null,
): { params: UpdateParams; idempotencyKey: string } {
  const revision = Number(schedule.metadata?.revision ?? 0);
  const start = schedule.current_phase?.start_date ?? schedule.phases[0].start_date;
  const params: UpdateParams = {
    end_behavior: "release",
    proration_behavior: "none",
    metadata: { org_id: orgId, revision: String(revision + 1) },
    phases: [
      // The flat price first (it decides the plan), then the metered (overage) prices beside it.
      {
        items: [{ price: state.priceId }, ...(state.meteredItems ?? []).map((i) => ({ price: i.priceId }))],
        start_date: start,
        end_date: seconds(state.periodEnd),
      },
      ...(next
        ? [
            {
              items: [{ price: next.priceId }, ...(next.metered ?? []).map((m) => ({ price: m.priceId }))],
              duration: { interval: "month" as const, interval_count: 1 },
            },
          ]
        : []),
    ],
  };
  return { params, idempotencyKey: requestKey(`downgrade:${orgId}:${schedule.id}:r${revision}`, { schedule: schedule.id, params }) };
}

async function setPhases(
  orgId: string,
  state: SubscriptionState,
  next: { priceId: string; planCode: string; metered: MeteredPrice[] } | null,
): Promise<SubscriptionState> {
  const schedule = await openSchedule(orgId, state);
  const { params, idempotencyKey } = phasesUpdate(orgId, schedule, state, next);
  await stripe.subscriptionSchedules.update(schedule.id, params, { idempotencyKey });
  return retrieveSubscription(state.id);
}

export const scheduleDowngradeAtPeriodEnd = (orgId: string, state: SubscriptionState, next: { priceId: string; planCode: string; metered: MeteredPrice[] }) =>
  setPhases(orgId, state, next);

/** Removes the pending phase; the schedule releases itself at the period end. */
export const clearScheduledChange = (orgId: string, state: SubscriptionState) => (state.scheduleId ? setPhases(orgId, state, null) : Promise.resolve(state));

/** Detaches the schedule from its subscription (after it applied its change, or before an upgrade). */
export async function releaseSchedule(scheduleId: string): Promise<void> {
  const params: Parameters<Schedules["release"]>[1] = {};
  await stripe.subscriptionSchedules.release(scheduleId, params, { idempotencyKey: requestKey(`release:${scheduleId}`, params) });
}
