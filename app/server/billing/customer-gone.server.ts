// An org's Stripe customer gone for good: deleted in Stripe (in the Dashboard, or with its test
// clock, which Stripe deletes at its `deletes_after` together with the customer's subscriptions,
// invoices and cards). Whoever notices it (the customer's next use, a convergence that finds the
// subscription missing, the clock's deletion event) calls this: the mirror ends, since the
// subscription went with the customer, operators are told once, and the org's next use of Stripe
// makes a new customer (ensureCustomer). docs/operations.md says why it is recreated, not refused.
import { and, eq } from "drizzle-orm";
import { appendAudit } from "../events/audit.server";
import { db, schema } from "../platform/db.server";
import { log } from "../platform/log.server";
import { endGoneSubscription, lockSubscription } from "./subscriptions.server";

export const CUSTOMER_GONE = "billing.stripe_customer_deleted";

export type GoneCustomer = { orgId: string; customerId: string; testClockId: string | null; reason: string };

/** Ends the org's mirror and records the loss (once per customer); a customer replaced meanwhile is left alone. */
export async function noteGoneCustomer(gone: GoneCustomer): Promise<void> {
  const noted = await db.transaction(async (tx) => {
    // The mirror's lock first, as every writer of it takes it (see record_usage).
    await lockSubscription(tx, gone.orgId);
    const [org] = await tx
      .select({ customerId: schema.organisations.stripeCustomerId })
      .from(schema.organisations)
      .where(eq(schema.organisations.id, gone.orgId));
    if (org?.customerId !== gone.customerId) return false;
    await endGoneSubscription(tx, gone.orgId);
    const [seen] = await tx
      .select({ id: schema.auditLog.id })
      .from(schema.auditLog)
      .where(and(eq(schema.auditLog.orgId, gone.orgId), eq(schema.auditLog.action, CUSTOMER_GONE), eq(schema.auditLog.target, gone.customerId)))
      .limit(1);
    if (seen) return false;
    await appendAudit(
      { orgId: gone.orgId, actor: "system", action: CUSTOMER_GONE, target: gone.customerId, details: { testClockId: gone.testClockId, reason: gone.reason } },
      tx,
    );
    return true;
  });
  if (noted)
    log.error(
      { orgId: gone.orgId, customerId: gone.customerId, testClockId: gone.testClockId, reason: gone.reason },
      "billing: Stripe deleted the organisation's customer and its subscription with it; the mirror is ended, and the org's next checkout makes a new customer",
    );
}
