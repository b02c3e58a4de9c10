// What /admin shows: the "needs attention" strip, queue and failed jobs, recent webhook events,
// past-due orgs, drift, the catalog's versions and their subscribers; and the replays. The org
// search and an org's detail: org-directory.server.ts.

import { pendingOrgDeletions } from "../auth/clerk-webhooks.server";
import { catalogHistory, planVersionSubscribers } from "../billing/catalog.server";
import { driftReport } from "../billing/meter-report.server";
import { stiggDriftCount } from "../billing/stigg-mirror.server";
import { isStripeUnavailable } from "../billing/stripe.server";
import { EVENT_JOB, replayStripeEvent } from "../billing/webhooks.server";
import { appendAudit } from "../events/audit.server";
import { type SloReport, TARGETS } from "../observe/slo.server";
import { config } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { AppError } from "../platform/errors.server";
import { stiggEnabled } from "../stigg/stigg.server";
import { jobStats } from "./jobs.server";

const PAST_DUE_SHOWN = 25;

export async function adminOverview() {
  const [jobs, events, pastDue, orgDeletions, catalogVersions, planVersions] = await Promise.all([
    jobStats(),
    sql<{ id: string; type: string; received_at: string; processed_at: string | null; converge_ms: number | null }[]>`
      select id, type, received_at::text, processed_at::text, converge_ms from stripe_events order by received_at desc limit 25`,
    // Orgs whose renewal payment failed: usage continues for the grace days, then stops (402). The
    // longest overdue first; all of them are one filter away in the org search.
    sql<{ id: string; name: string; plan_code: string; status: string; since: string; grace_ends: string; total: number }[]>`
      select o.id, o.name, s.plan_code, s.status, s.period_start::text as since,
             grace_ends(s.period_start, make_interval(days => ${config.PAST_DUE_GRACE_DAYS}))::text as grace_ends,
             count(*) over ()::int as total
        from subscriptions s join organisations o on o.id = s.org_id
       where s.status in ('past_due', 'unpaid') order by s.period_start, o.id limit ${PAST_DUE_SHOWN}`,
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
  return {
    jobs,
    events,
    pastDue: pastDue.map(({ total: _, ...o }) => o),
    pastDueTotal: pastDue[0]?.total ?? 0,
    drift,
    stiggDrift,
    orgDeletions,
    catalog: { versions: catalogVersions.reverse(), planVersions },
  };
}

/** A figure of the "needs attention" strip: null when there is no data (shown neutral, not as 0). */
export type AttentionItem = { id: string; label: string; count: number | null; href: string };

/**
 * The "needs attention" strip: each figure a count linking to its list on /admin. One line per
 * figure: a new one is a line here (and its panel on the page, with the anchor it links to).
 */
export function needsAttention(overview: Awaited<ReturnType<typeof adminOverview>>, slo: SloReport): AttentionItem[] {
  const { jobs, pastDueTotal, drift } = overview;
  return [
    { id: "failed-jobs", label: "Failed jobs", count: jobs.tasks.reduce((n, t) => n + t.failed, 0), href: "#failed-jobs" },
    { id: "past-due", label: "Past due orgs", count: pastDueTotal, href: "#past-due" },
    {
      id: "drift",
      label: `Drift over ${TARGETS.driftMax * 100}%`,
      // No settled counter yet is no data, not "0 over target".
      count:
        "error" in drift || drift.maxDrift === null || drift.rows.length === 0
          ? null
          : drift.rows.filter((r) => r.drift !== null && r.drift > TARGETS.driftMax).length,
      href: "#drift",
    },
    { id: "stigg-drift", label: "Orgs drifted in Stigg", count: overview.stiggDrift, href: "#drift" },
    { id: "slo", label: "SLO breaches", count: slo.slos.some((s) => s.value !== null) ? slo.slos.filter((s) => !s.ok).length : null, href: "#slo" },
  ];
}

/** The `n` rows of largest drift, settled ones first (settling and displaced ones have none yet). */
export function worstDrift<Row extends { drift: number | null }>(rows: Row[], n: number): Row[] {
  return [...rows].sort((a, b) => (b.drift ?? -1) - (a.drift ?? -1)).slice(0, n);
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
