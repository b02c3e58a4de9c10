// What an org sees of its billing: invoices, and the subscription with this period's usage.
import { and, asc, desc, eq } from "drizzle-orm";
import { isLive } from "../../subscription-status";
import { db, schema } from "../platform/db.server";
import { SubscriptionInactive } from "../platform/errors.server";
import { quotaFor } from "../usage/engine.server";
import { pastDueGraceEnds, subscriptionSummary } from "./subscriptions.server";

export async function listInvoices(orgId: string) {
  const rows = await db.select().from(schema.invoices).where(eq(schema.invoices.orgId, orgId)).orderBy(desc(schema.invoices.stripeCreatedAt)).limit(100);
  return rows.map((i) => ({
    id: i.id,
    number: i.number,
    status: i.status,
    amountDue: i.amountDue,
    amountPaid: i.amountPaid,
    total: i.total,
    currency: i.currency,
    billingReason: i.billingReason,
    periodStart: i.periodStart?.toISOString() ?? null,
    periodEnd: i.periodEnd?.toISOString() ?? null,
    hostedInvoiceUrl: i.hostedInvoiceUrl,
    invoicePdf: i.invoicePdf,
    created: i.stripeCreatedAt.toISOString(),
  }));
}

/** Plan, status, trial end, period, pending downgrade and usage of the org. */
export async function subscriptionOverview(orgId: string) {
  const sub = await subscriptionSummary(orgId);
  if (!sub) return { subscription: null, usage: null };
  const usage = isLive(sub.status)
    ? await quotaFor(orgId, "api_call").catch((err) => {
        // A mirror that says live while its period has lapsed (past the grace days): no usage to show.
        if (err instanceof SubscriptionInactive) return null;
        throw err;
      })
    : null;
  return { subscription: sub, usage };
}

/**
 * What a past-due (or unpaid) org owes, for the portal's one banner: the amount of its open
 * invoices, when the oldest failed, and (past due only) until
 * when API calls continue. Null when the org is not past due or unpaid.
 */
export async function paymentDue(orgId: string) {
  const sub = await subscriptionSummary(orgId);
  if (sub?.status !== "past_due" && sub?.status !== "unpaid") return null;
  const open = await db
    .select()
    .from(schema.invoices)
    .where(and(eq(schema.invoices.orgId, orgId), eq(schema.invoices.status, "open")))
    .orderBy(asc(schema.invoices.stripeCreatedAt))
    .limit(20);
  const oldest = open[0];
  return {
    status: sub.status,
    // Open invoices of one subscription share its currency.
    amountDue: open.reduce((sum, i) => sum + i.amountDue, 0),
    currency: oldest?.currency ?? null,
    failedAt: oldest?.stripeCreatedAt.toISOString() ?? null,
    graceEndsAt: sub.status === "past_due" ? await pastDueGraceEnds(orgId) : null,
  };
}
