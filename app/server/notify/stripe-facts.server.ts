// The events a converged Stripe webhook means for the org: invoice paid or failed, trial ending,
// and the plan change a convergence applies.
// Read from the mirrors the convergence has just written, so the data is the current state.
// Each is deduplicated by the Stripe object (or event), so a replayed webhook emits nothing new.
import { eq } from "drizzle-orm";
import type { StripeEventRow } from "../../../db/schema";
import { type Executor, emitEvent } from "../events/outbox.server";
import { db, schema } from "../platform/db.server";
import { emitTrialWillEnd } from "./trials.server";

/** The notices one converged Stripe event means (its object: `objectId`, stripe_events.object_id). */
export async function emitForStripeEvent(event: Pick<StripeEventRow, "id" | "type" | "objectId">): Promise<void> {
  const { objectId } = event;
  if (!objectId) return;
  if (event.type === "invoice.paid" || event.type === "invoice.payment_failed") {
    const [inv] = await db.select().from(schema.invoices).where(eq(schema.invoices.id, objectId));
    if (!inv) return;
    const common = { invoiceId: inv.id, number: inv.number, currency: inv.currency, hostedInvoiceUrl: inv.hostedInvoiceUrl };
    if (event.type === "invoice.paid")
      await emitEvent({ orgId: inv.orgId, type: "invoice.paid", data: { ...common, amountPaid: inv.amountPaid }, dedupeKey: `invoice.paid:${inv.id}` });
    // Every failed attempt is news to the customer: one event per Stripe event. Not once the
    // invoice is settled (a retry paid it, or it was voided) before a late delivery converged.
    else if (inv.status !== "paid" && inv.status !== "void")
      await emitEvent({
        orgId: inv.orgId,
        type: "invoice.payment_failed",
        data: { ...common, amountDue: inv.amountDue },
        dedupeKey: `payment_failed:${event.id}`,
      });
  } else if (event.type === "customer.subscription.trial_will_end") {
    const [sub] = await db.select().from(schema.subscriptions).where(eq(schema.subscriptions.stripeSubscriptionId, objectId));
    if (sub?.trialEnd) await emitTrialWillEnd({ ...sub, trialEnd: sub.trialEnd });
  }
}

/** subscription.updated, in the transaction that applies a new plan (so once per change). */
export async function emitPlanApplied(
  tx: Executor,
  previousPlanCode: string,
  s: { orgId: string; planCode: string; status: string; periodStart: Date; periodEnd: Date },
): Promise<void> {
  const data = { planCode: s.planCode, previousPlanCode, status: s.status, periodStart: s.periodStart.toISOString(), periodEnd: s.periodEnd.toISOString() };
  // Once per plan and period: a convergence that flaps back to the same plan says nothing new.
  await emitEvent({ orgId: s.orgId, type: "subscription.updated", data, dedupeKey: `plan:${s.orgId}:${data.periodStart}:${s.planCode}` }, tx);
}
