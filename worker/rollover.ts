// Crontab safety net: periods whose end passed without a renewal webhook are re-read from Stripe
// (or rolled by the hot path's own rule when Stripe cannot be reached).

import { rolloverOverduePeriods } from "../app/server/billing/converge.server";
import { config } from "../app/server/platform/config.server";
import { defineTask } from "./define-task";

export const rolloverPeriods = defineTask("rollover_periods", async (_payload, helpers) => {
  const result = await rolloverOverduePeriods(config.PAST_DUE_GRACE_DAYS);
  if (result.converged + result.rolledLocally > 0)
    helpers.logger.info(`rollover: ${result.converged} converged from Stripe, ${result.rolledLocally} rolled locally`);
});
