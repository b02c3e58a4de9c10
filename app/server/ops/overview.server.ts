// What /admin shows: queue and failed jobs, recent webhook events, orgs, drift, the catalog's
// versions and their subscribers; and the replays.

import { pendingOrgDeletions } from "../auth/clerk-webhooks.server";
import { catalogHistory, planVersionSubscribers } from "../billing/catalog.server";
import { driftReport } from "../billing/meter-report.server";
import { stiggDriftCount } from "../billing/stigg-mirror.server";
import { isStripeUnavailable } from "../billing/stripe.server";
import { EVENT_JOB, replayStripeEvent } from "../billing/webhooks.server";
import { appendAudit } from "../events/audit.server";
import { config } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { AppError } from "../platform/errors.server";
import { stiggEnabled } from "../stigg/stigg.server";
import { jobStats } from "./jobs.server";

export async function adminOverview() {
  const [jobs, events, orgs, pastDue, orgDeletions, catalogVersions, planVersions] = await Promise.all([
    jobStats(),
    sql<{ id: string; type: string; received_at: string; processed_at: string | null; converge_ms: number | null }[]>`
      select id, type, received_at::text, processed_at::text, converge_ms from stripe_events order by received_at desc limit 25`,
    sql<{ id: string; name: string; plan_code: string | null; status: string | null; used: number | null; included: number | null }[]>`
      select o.id, o.name, s.plan_code, s.status, c.used, c.included
        from organisations o
        left join subscriptions s on s.org_id = o.id
        -- the counter of the period usage is counted in now (a yearly subscription's next month has one made ahead)
        left join lateral (select used, included from usage_counters c where c.org_id = o.id and c.metric = 'api_call'
                             and c.period_start <= greatest(now(), s.period_start) order by period_start desc limit 1) c on true
       order by o.created_at desc limit 50`,
    // Orgs whose renewal payment failed: usage continues for the grace days, then stops (402).
    sql<{ id: string; name: string; plan_code: string; status: string; since: string; grace_ends: string }[]>`
      select o.id, o.name, s.plan_code, s.status, s.period_start::text as since,
             grace_ends(s.period_start, make_interval(days => ${config.PAST_DUE_GRACE_DAYS}))::text as grace_ends
        from subscriptions s join organisations o on o.id = s.org_id
       where s.status in ('past_due', 'unpaid') order by s.period_start limit 200`,
    pendingOrgDeletions(),
    catalogHistory(),
    planVersionSubscribers(),
  ]);
  let drift: Awaited<ReturnType<typeof driftReport>> | { error: string };
  try {
    // The newest 50 counters: each asks Stripe for its meter total.
    drift = await driftReport(undefined, 50);
  } catch (err) {
    // Only an outage is expected here; anything else is a bug for the error boundary to log.
    if (!isStripeUnavailable(err)) throw err;
    drift = { error: "Stripe is unreachable: drift cannot be computed right now." };
  }
  // Orgs Stigg disagrees with the database on, as the last check or mirror found (null: Stigg off).
  const stiggDrift = stiggEnabled() ? await stiggDriftCount() : null;
  return { jobs, events, orgs, pastDue, drift, stiggDrift, orgDeletions, catalog: { versions: catalogVersions.reverse(), planVersions } };
}

/** Replays a failed job: a webhook job re-processes its stored event; others run again. */
export async function replayJob(jobId: string) {
  // Job ids are bigints: 18 digits always fit; a longer number names no job (and no SQL error).
  if (!/^\d{1,18}$/.test(jobId)) throw new AppError("NOT_FOUND", "No such job.");
  const [job] = await sql<{ id: string; task_identifier: string; key: string | null; attempts: number; max_attempts: number }[]>`
    select id::text, task_identifier, key, attempts, max_attempts from graphile_worker.jobs where id = ${jobId}::bigint`;
  if (!job) throw new AppError("NOT_FOUND", "No such job.");
  if (job.task_identifier === EVENT_JOB && job.key) return replayStripeEvent(job.key);
  await sql`select graphile_worker.reschedule_jobs(array[${jobId}::bigint], run_at := now(), attempts := 0)`;
  await appendAudit({ orgId: null, action: "admin.replay_job", target: jobId, details: { task: job.task_identifier } });
  return { jobId };
}
