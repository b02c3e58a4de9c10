// The period counters' plan units, as billing decides them. The counters' `used` is written only
// by record_usage (db/functions/); this module is the one place TypeScript writes the table.
import { sql as dsql } from "drizzle-orm";
import type { Tx } from "../platform/db.server";

/**
 * The period's counter carries the plan's units: a new period starts at 0 used; a plan change
 * within the period (an upgrade) keeps `used` and takes the new units. It carries the overage
 * price of the subscription as the caller has just written it (overage_price_of: the plan
 * version's, none on a yearly price), which tells record_usage whether overage may be admitted.
 * Runs in the caller's transaction, under its lock on the subscription.
 */
export async function setPeriodUnits(tx: Tx, input: { orgId: string; metric: string; periodStart: Date; periodEnd: Date; included: number }): Promise<void> {
  await tx.execute(dsql`
    insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used, overage_price_cents, overage_per)
    select ${input.orgId}, ${input.metric}, ${input.periodStart.toISOString()}::timestamptz, ${input.periodEnd.toISOString()}::timestamptz,
           ${input.periodStart.toISOString().slice(0, 7)}, ${input.included}, 0, price.price_cents, price.per
      from (select 1) one
      left join subscriptions subscription on subscription.org_id = ${input.orgId}
      left join lateral overage_price_of(subscription.plan_code, subscription.plan_version, ${input.metric},
                                         subscription.billing_interval) price on true
    on conflict (org_id, metric, period_start)
    do update set included = excluded.included, period_end = excluded.period_end,
                  overage_price_cents = excluded.overage_price_cents, overage_per = excluded.overage_per, updated_at = now()`);
}
