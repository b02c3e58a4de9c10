// Every minute: usage recorded since the last report goes to Stripe as billing meter events.
// When Stripe is down the job fails and the next run catches up (the delta only grows).
import type { Task } from "graphile-worker";
import { reportUsageToStripe } from "../app/server/billing/usage-report.server";

export const reportUsage: Task = async (_payload, helpers) => {
  const result = await reportUsageToStripe();
  if (result.reported > 0) helpers.logger.info(`reported ${result.reported} units for ${result.orgs} orgs to Stripe`);
};
