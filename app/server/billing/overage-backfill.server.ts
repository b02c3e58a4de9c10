// `ops overage:backfill [--apply]`: subscriptions to a plan that sells overage (growth and pro in
// the default catalog) made before overage existed carry only the flat price in Stripe, so their
// usage past the included units would be admitted and never billed. This lists them (a dry run)
// or adds the missing metered overage items (--apply), each without proration. Idempotent: a
// second run finds nothing to add. Yearly subscriptions carry no overage items (Stripe bills one
// interval per subscription), so they are not listed.
import { isLive } from "../../subscription-status";
import { sql } from "../platform/db.server";
import { addMissingOverageItems, overageTermsOf } from "./stripe-overage.server";

export type OverageBackfillRow = {
  orgId: string;
  subscriptionId: string;
  planCode: string;
  /** The features whose overage item it lacked (before this run). */
  missing: string[];
  /** added: the items were added now; missing: a dry run found some; complete: nothing to add; skipped: Stripe says it is over. */
  outcome: "added" | "missing" | "complete" | "skipped";
};

export async function backfillOverageItems(input: { apply: boolean }): Promise<OverageBackfillRow[]> {
  const subscriptions = await sql<{ org_id: string; stripe_subscription_id: string; plan_code: string; status: string; billing_interval: string }[]>`
    select org_id, stripe_subscription_id, plan_code, status, billing_interval
      from subscriptions where stripe_subscription_id is not null order by org_id`;
  const rows: OverageBackfillRow[] = [];
  for (const sub of subscriptions) {
    if (!isLive(sub.status) || sub.billing_interval !== "month" || overageTermsOf(sub.plan_code).length === 0) continue;
    const result = await addMissingOverageItems(sub.stripe_subscription_id, sub.plan_code, input.apply);
    const over = result.stripeStatus === "canceled" || result.stripeStatus === "incomplete_expired";
    rows.push({
      orgId: sub.org_id,
      subscriptionId: sub.stripe_subscription_id,
      planCode: sub.plan_code,
      missing: result.missing,
      outcome: result.added ? "added" : over ? "skipped" : result.missing.length > 0 ? "missing" : "complete",
    });
  }
  return rows;
}
