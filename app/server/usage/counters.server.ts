// The period counters' plan units, as billing decides them. The counters' `used` is written only
// by record_usage (db/functions/); this module is the one place TypeScript writes the table.
import { sql as dsql } from "drizzle-orm";
import type { Tx } from "../platform/db.server";

/**
 * The period's counter carries the plan's units: a new period starts at 0 used; a plan change
 * within the period (an upgrade) keeps `used` and takes the new units. Runs in the caller's
 * transaction, under its lock on the subscription.
 */
export async function setPeriodUnits(tx: Tx, input: { orgId: string; metric: string; periodStart: Date; periodEnd: Date; included: number }): Promise<void> {
  await tx.execute(dsql`
    insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
    values (${input.orgId}, ${input.metric}, ${input.periodStart.toISOString()}::timestamptz, ${input.periodEnd.toISOString()}::timestamptz,
            ${input.periodStart.toISOString().slice(0, 7)}, ${input.included}, 0)
    on conflict (org_id, metric, period_start)
    do update set included = excluded.included, period_end = excluded.period_end, updated_at = now()`);
}
