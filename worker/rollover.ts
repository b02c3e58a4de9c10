// Crontab safety net: periods whose end passed without a renewal webhook are re-read from Stripe
// (or rolled by the hot path's own rule when Stripe cannot be reached), and customers Stripe may
// hold a live subscription for that the mirror has not seen (a Checkout whose webhooks were lost)
// are looked up, a bounded few each run (billing/reconcile.server.ts). Yearly subscriptions get
// their allowance months' counters ahead of use (openAllowanceMonths).

import { openAllowanceMonths, rolloverOverduePeriods } from "../app/server/billing/converge.server";
import { convergeUnmirroredCustomers } from "../app/server/billing/reconcile.server";
import { config } from "../app/server/platform/config.server";
import { log } from "../app/server/platform/log.server";
import { defineTask } from "./define-task";

export const rolloverPeriods = defineTask("rollover_periods", async () => {
  const result = await rolloverOverduePeriods(config.PAST_DUE_GRACE_DAYS);
  if (result.converged + result.rolledLocally > 0)
    log.info(result, `rollover: ${result.converged} converged from Stripe, ${result.rolledLocally} rolled locally`);
  // Yearly subscriptions: their next allowance month's counter, with their version's units.
  await openAllowanceMonths();
  const sweep = await convergeUnmirroredCustomers();
  if (sweep.converged > 0) log.info(sweep, `rollover: ${sweep.converged} live Stripe subscriptions the mirror had not seen converged`);
});
