// subscription.trial_will_end: from Stripe's webhook three days before a trial ends, and from an
// hourly sweep of the mirror (the safety net for a missed webhook, and the source when the local
// Stripe sends none). Both use one dedupe key per org and trial end: one event, one email.
import type { Subscription } from "../../../db/schema";
import { emitEvent } from "../events/outbox.server";
import { sql } from "../platform/db.server";

export const TRIAL_NOTICE_DAYS = 3;

export const emitTrialWillEnd = (sub: Pick<Subscription, "orgId" | "planCode"> & { trialEnd: Date }) =>
  emitEvent({
    orgId: sub.orgId,
    type: "subscription.trial_will_end",
    data: { planCode: sub.planCode, trialEnd: sub.trialEnd.toISOString() },
    dedupeKey: `trial_will_end:${sub.orgId}:${sub.trialEnd.toISOString()}`,
  });

/** Emits the notice for every trial ending within the notice window; answers how many are new. */
export async function notifyEndingTrials(): Promise<number> {
  const rows = await sql<{ org_id: string; plan_code: string; trial_end_ms: number }[]>`
    select org_id, plan_code, (extract(epoch from trial_end) * 1000)::float8 as trial_end_ms
      from subscriptions
     where status = 'trialing' and trial_end > now() and trial_end <= now() + make_interval(days => ${TRIAL_NOTICE_DAYS})
     limit 1000`;
  let emitted = 0;
  for (const r of rows) if (await emitTrialWillEnd({ orgId: r.org_id, planCode: r.plan_code, trialEnd: new Date(r.trial_end_ms) })) emitted++;
  return emitted;
}
