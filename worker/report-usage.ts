// Every minute: usage recorded since the last report goes to Stripe as billing meter events.
// When Stripe is down the job fails and the next run catches up (the delta only grows); when
// some counters fail, the others are still reported and the job fails naming the ones that did.
import { reportUsageToStripe, UsageReportFailed } from "../app/server/billing/meter-report.server";
import { defineTask } from "./define-task";

export const reportUsage = defineTask("report_usage", async (_payload, helpers) => {
  try {
    const result = await reportUsageToStripe();
    if (result.reported > 0) helpers.logger.info(`reported ${result.reported} units for ${result.orgs} orgs to Stripe`);
  } catch (err) {
    // graphile-worker logs the failure with its message; the units that did go are said here.
    if (err instanceof UsageReportFailed && err.reported > 0) helpers.logger.info(`reported ${err.reported} units to Stripe`);
    throw err;
  }
});
