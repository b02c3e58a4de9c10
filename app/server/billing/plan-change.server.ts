// Plan changes (api.md 5.1–5.3) as setup → compute → execute; the preview is setup + compute.
// Upgrade: Stripe prorates and invoices now (billing anchor unchanged), then the org's included
// units rise before we answer. Downgrade: Stripe's price is switched with no proration, so the
// renewal invoice bills the lower price; the mirror keeps the current plan and its units until
// that renewal (pending_plan_code), when the new period's counter gets the lower plan's units.
import { eq } from "drizzle-orm";
import { db, schema } from "../db.server";
import { AppError } from "../errors.server";
import { subscriptionSummary } from "../orgs.server";
import { planByCode, type Plan, type PlanCode } from "../plans.server";
import { clockNow, previewPriceChange, priceOf, retrieveSubscription, updateSubscriptionPrice, upstream } from "../stripe.server";
import { previewInStigg } from "../stigg.server";
import { applySubscription } from "./converge.server";
import { emitEvent } from "../notify/events.server";
import { emitPlanApplied } from "../notify/stripe-facts.server";
import { appendAudit } from "../notify/audit.server";

type Change = { from: Plan; to: Plan; kind: "upgrade" | "downgrade"; orgId: string; stripeSubscriptionId: string; trialing: boolean };

const LIVE = new Set(["active", "trialing", "past_due"]);

async function setup(orgId: string, planCode: string): Promise<Change> {
  const to = planByCode(planCode);
  if (!to || to.trialDays)
    throw new AppError("VALIDATION_FAILED", `"${planCode}" is not a plan you can change to.`, { issues: [{ path: "planCode", message: "unknown plan" }] });
  const [sub] = await db.select().from(schema.subscriptions).where(eq(schema.subscriptions.orgId, orgId));
  if (!sub || !LIVE.has(sub.status) || !sub.stripeSubscriptionId)
    throw new AppError("SUBSCRIPTION_INACTIVE", "There is no live subscription to change; start one with Checkout.");
  const from = planByCode(sub.planCode)!;
  if (from.code === to.code)
    throw new AppError("VALIDATION_FAILED", `The organisation is already on ${to.name}.`, { issues: [{ path: "planCode", message: "same plan" }] });
  const trialing = sub.status === "trialing";
  // From a trial every paid plan is an upgrade: it ends the trial now.
  const kind = trialing || to.priceMonthly > from.priceMonthly ? "upgrade" : "downgrade";
  return { from, to, kind, orgId, stripeSubscriptionId: sub.stripeSubscriptionId, trialing };
}

export type PlanChangePreview = {
  from: PlanCode;
  to: PlanCode;
  change: "upgrade" | "downgrade";
  effective: "now" | "period_end";
  amountDueNow: number;
  currency: string;
  nextInvoiceAmount: number;
  nextInvoiceAt: string;
  includedUnits: number;
  lines: { description: string; amount: number }[];
  source: "stigg" | "stripe";
};

async function compute(change: Change, prorationDate?: number): Promise<PlanChangePreview & { prorationDate: number }> {
  const state = await retrieveSubscription(change.stripeSubscriptionId);
  const at = prorationDate ?? (await clockNow(state.customerId));
  const base = {
    from: change.from.code,
    to: change.to.code,
    change: change.kind,
    currency: change.to.currency,
    nextInvoiceAmount: change.to.priceMonthly,
    includedUnits: change.to.includedUnits.api_call ?? 0,
    source: "stripe" as const,
    prorationDate: at,
  };
  if (change.kind === "downgrade") {
    return { ...base, effective: "period_end", amountDueNow: 0, nextInvoiceAt: state.periodEnd.toISOString(), lines: [] };
  }
  if (change.trialing) {
    // Ending the trial starts a paid period now, billed in full; the next one a month later.
    const next = new Date(at * 1000);
    next.setUTCMonth(next.getUTCMonth() + 1);
    return {
      ...base,
      effective: "now",
      amountDueNow: change.to.priceMonthly,
      nextInvoiceAt: next.toISOString(),
      lines: [{ description: `1 × ${change.to.name}`, amount: change.to.priceMonthly }],
    };
  }
  const preview = await previewPriceChange({
    subscriptionId: state.id,
    itemId: state.itemId,
    customerId: state.customerId,
    priceId: await priceOf(change.to.code),
    prorationDate: at,
  });
  return { ...base, effective: "now", amountDueNow: preview.amountDue, nextInvoiceAt: state.periodEnd.toISOString(), lines: preview.lines };
}

/** 5.1: what the change would cost, changing nothing anywhere. */
export async function previewPlanChange(orgId: string, planCode: string): Promise<PlanChangePreview> {
  const change = await setup(orgId, planCode);
  // Stigg's figures when it is configured; Stripe's when it is off or does not answer.
  const stigg = change.kind === "upgrade" ? await previewInStigg(orgId, change.to.code) : null;
  const { prorationDate: _p, ...preview } = await upstream(() => compute(change));
  return stigg ? { ...preview, ...stigg, nextInvoiceAt: stigg.nextInvoiceAt ?? preview.nextInvoiceAt, source: "stigg" } : preview;
}

/** 5.2: upgrade now; a retry with the same idempotency key never charges twice. */
export async function upgradeNow(orgId: string, planCode: string, idempotencyKey: string | null) {
  const change = await setup(orgId, planCode);
  if (change.kind !== "upgrade")
    throw new AppError("VALIDATION_FAILED", `${change.to.name} costs less than ${change.from.name}: schedule a downgrade instead.`, {
      issues: [{ path: "planCode", message: "not an upgrade" }],
    });
  const state = await upstream(() =>
    updateSubscriptionPrice({
      subscriptionId: change.stripeSubscriptionId,
      priceId: priceOf(change.to.code),
      prorationBehavior: "always_invoice",
      endTrial: change.trialing,
      idempotencyKey: idempotencyKey ? `upgrade:${orgId}:${idempotencyKey}` : null,
    }),
  );
  // Units rise before we answer; the webhook that follows converges to the same state.
  await db.update(schema.subscriptions).set({ pendingPlanCode: null }).where(eq(schema.subscriptions.orgId, orgId));
  await applySubscription(orgId, change.to.code, state);
  await emitPlanApplied(db, change.from.code, { ...state, orgId, planCode: change.to.code });
  await appendAudit({ orgId, action: "plan.upgraded", target: change.to.code, details: { from: change.from.code } });
  return subscriptionSummary(orgId);
}

/** 5.3: schedule a downgrade for the period end (a second one replaces the first). */
export async function scheduleDowngrade(orgId: string, planCode: string) {
  const change = await setup(orgId, planCode);
  if (change.kind !== "downgrade")
    throw new AppError("VALIDATION_FAILED", `${change.to.name} is not cheaper than ${change.from.name}: upgrade instead.`, {
      issues: [{ path: "planCode", message: "not a downgrade" }],
    });
  // Pending first: the webhook of the price switch must find it, or it would apply the lower plan now.
  const [before] = await db.select({ pending: schema.subscriptions.pendingPlanCode }).from(schema.subscriptions).where(eq(schema.subscriptions.orgId, orgId));
  await db.update(schema.subscriptions).set({ pendingPlanCode: change.to.code, updatedAt: new Date() }).where(eq(schema.subscriptions.orgId, orgId));
  try {
    await upstream(() =>
      updateSubscriptionPrice({
        subscriptionId: change.stripeSubscriptionId,
        priceId: priceOf(change.to.code),
        prorationBehavior: "none",
        endTrial: false,
        idempotencyKey: null,
      }),
    );
  } catch (err) {
    await db
      .update(schema.subscriptions)
      .set({ pendingPlanCode: before?.pending ?? null })
      .where(eq(schema.subscriptions.orgId, orgId));
    throw err;
  }
  // The answer is the schedule just made. (A webhook of an earlier switch that read Stripe
  // before this one may briefly write the earlier plan; the webhook of this switch follows it in
  // the customer's queue and converges to this one.)
  const summary = await subscriptionSummary(orgId);
  await appendAudit({ orgId, action: "downgrade.scheduled", target: change.to.code, details: { from: change.from.code } });
  await emitEvent({
    orgId,
    type: "subscription.downgrade_scheduled",
    data: { planCode: change.from.code, toPlanCode: change.to.code, effectiveAt: summary!.periodEnd },
  });
  return summary && { ...summary, pendingPlanCode: change.to.code };
}

/** DELETE 5.3: keep the current plan after all. */
export async function cancelDowngrade(orgId: string) {
  const [sub] = await db.select().from(schema.subscriptions).where(eq(schema.subscriptions.orgId, orgId));
  if (!sub?.pendingPlanCode || !sub.stripeSubscriptionId) throw new AppError("NOT_FOUND", "There is no scheduled downgrade.");
  const planCode = sub.planCode as PlanCode;
  await upstream(() =>
    updateSubscriptionPrice({
      subscriptionId: sub.stripeSubscriptionId!,
      priceId: priceOf(planCode),
      prorationBehavior: "none",
      endTrial: false,
      idempotencyKey: null,
    }),
  );
  await db.update(schema.subscriptions).set({ pendingPlanCode: null, updatedAt: new Date() }).where(eq(schema.subscriptions.orgId, orgId));
  await appendAudit({ orgId, action: "downgrade.canceled", target: sub.pendingPlanCode });
  await emitEvent({ orgId, type: "subscription.downgrade_canceled", data: { planCode, canceledPlanCode: sub.pendingPlanCode } });
  return subscriptionSummary(orgId);
}
