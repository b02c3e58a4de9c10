// Every minute: usage recorded since the last report goes to Stripe as billing meter events.
// When Stripe is down the job fails and the next run catches up (the delta only grows); when
// some counters fail, the others are still reported and the job fails naming the ones that did.
// When Stripe is busy (429) or refuses the key (401/403), the run stops at once and the next one
// is scheduled after a backoff (Stripe's Retry-After when it sends one); the minute's ticks skip
// while it waits, so a rate limit is not made worse and a wrong key is not hammered.
import { reportBackoffSeconds, reportUsageToStripe, UsageReportFailed } from "../app/server/billing/meter-report.server";
import { stripeTrouble } from "../app/server/billing/stripe-errors.server";
import { sql } from "../app/server/platform/db.server";
import { defineTask } from "./define-task";

/** The job key of the one scheduled run after a backoff (`bun run ops jobs` shows it, with its run_at). */
export const REPORT_BACKOFF_KEY = "report_usage:backoff";

const backoffScheduled = async () => (await sql`select 1 from graphile_worker.jobs where key = ${REPORT_BACKOFF_KEY} and locked_at is null limit 1`).length > 0;

export const reportUsage = defineTask("report_usage", async (payload, helpers) => {
  if (payload._cron && (await backoffScheduled())) return;
  try {
    const result = await reportUsageToStripe();
    if (result.reported > 0) helpers.logger.info(`reported ${result.reported} units for ${result.orgs} orgs to Stripe`);
  } catch (err) {
    const trouble = stripeTrouble(err);
    if (trouble?.kind === "busy" || trouble?.kind === "key") {
      const backoff = (payload.backoff ?? 0) + 1;
      const seconds = reportBackoffSeconds(trouble, backoff);
      await helpers.addJob(
        "report_usage",
        { backoff },
        { jobKey: REPORT_BACKOFF_KEY, queueName: "report_usage", runAt: new Date(Date.now() + seconds * 1000) },
      );
      const why = trouble.kind === "busy" ? `Stripe is busy (429 ${trouble.reason})` : `Stripe refused the API key (${trouble.status})`;
      helpers.logger.warn(`${why}: usage reporting stopped; the next run is in ${seconds} s`);
      return;
    }
    // graphile-worker logs the failure with its message; the units that did go are said here.
    if (err instanceof UsageReportFailed && err.reported > 0) helpers.logger.info(`reported ${err.reported} units to Stripe`);
    throw err;
  }
});
