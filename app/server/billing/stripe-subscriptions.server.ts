// Stripe's subscriptions and invoices, read and changed, as the system's own shapes
// (SubscriptionState, InvoiceState): the raw Stripe objects never leave this module. Part of
// billing/'s Stripe modules, the only ones that talk to Stripe.
import Stripe from "stripe";
import { isLive } from "../../subscription-status";
import { stripe } from "./stripe.server";
import { requestKey } from "./stripe-keys.server";
import { flatItemOf, type MeteredPrice, meteredItemChanges, meteredItemsOf } from "./stripe-overage.server";

const toDate = (s: number) => new Date(s * 1000);

// ---- subscriptions ----------------------------------------------------------------------------

export type SubscriptionState = {
  id: string;
  customerId: string;
  orgId: string | null;
  status: string;
  priceId: string;
  /** How often its price bills: a yearly subscription's units still reset monthly (org_period). */
  interval: "month" | "year";
  itemId: string;
  /** The metered items beside it (overage billed from the meters), each with the feature it bills. */
  meteredItems: { id: string; priceId: string; feature: string | null }[];
  periodStart: Date;
  periodEnd: Date;
  trialEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  /** The subscription schedule attached to it, when one is open. */
  scheduleId: string | null;
  /** The price the schedule's next phase moves to at the period end (a pending downgrade). */
  scheduledPriceId: string | null;
  /** The schedule has applied its last phase change: it has nothing left to do and can be released. */
  scheduleApplied: boolean;
  /** The newest invoice it made (a Checkout's first one), if any. */
  latestInvoiceId: string | null;
};

const priceIdOf = (p: string | Stripe.Price | Stripe.DeletedPrice) => (typeof p === "string" ? p : p.id);
/** The id of a field Stripe answers as an id or, expanded, as the object. */
const idOf = (v: string | { id?: string } | null | undefined): string | null => (typeof v === "string" ? v : (v?.id ?? null));

export function subscriptionState(sub: Stripe.Subscription): SubscriptionState {
  // The flat price decides the plan; metered items (overage) ride beside it.
  const item = flatItemOf(sub);
  if (!item) throw new Error(`subscription ${sub.id} has no item`);
  const schedule = sub.schedule && typeof sub.schedule === "object" && ["active", "not_started"].includes(sub.schedule.status) ? sub.schedule : null;
  const current = schedule?.phases.findIndex((p) => p.start_date === schedule.current_phase?.start_date) ?? -1;
  const next = schedule?.phases[current + 1];
  return {
    id: sub.id,
    customerId: typeof sub.customer === "string" ? sub.customer : sub.customer.id,
    orgId: sub.metadata?.org_id ?? null,
    status: sub.status,
    priceId: item.price.id,
    interval: item.price.recurring?.interval === "year" ? "year" : "month",
    itemId: item.id,
    meteredItems: meteredItemsOf(sub),
    // Since API 2025-03-31 the period lives on the subscription item.
    periodStart: toDate(item.current_period_start),
    periodEnd: toDate(item.current_period_end),
    trialEnd: sub.trial_end ? toDate(sub.trial_end) : null,
    cancelAtPeriodEnd: sub.cancel_at_period_end,
    scheduleId: typeof sub.schedule === "string" ? sub.schedule : (sub.schedule?.id ?? null),
    scheduledPriceId: next ? priceIdOf(next.items[0].price) : null,
    scheduleApplied: Boolean(schedule && current > 0 && !next),
    latestInvoiceId: idOf(sub.latest_invoice),
  };
}

export async function retrieveSubscription(id: string): Promise<SubscriptionState> {
  return subscriptionState(await stripe.subscriptions.retrieve(id, { expand: ["schedule"] }));
}

/** The ids of the customer's live subscriptions, oldest first. */
export async function liveSubscriptionIds(customerId: string): Promise<string[]> {
  const subs = await stripe.subscriptions.list({ customer: customerId, status: "all", limit: 100 }).autoPagingToArray({ limit: 10_000 });
  return subs
    .filter((s) => isLive(s.status))
    .map((s) => s.id)
    .reverse();
}

// ---- Checkout sessions ------------------------------------------------------------------------

export type CheckoutSessionState = { customerId: string | null; orgId: string | null; status: string | null; subscriptionId: string | null };

/** A Checkout session's customer, org (its metadata), status and subscription; null when Stripe has no such session. */
export async function retrieveCheckoutSession(id: string): Promise<CheckoutSessionState | null> {
  try {
    const s = await stripe.checkout.sessions.retrieve(id);
    return { customerId: idOf(s.customer), orgId: s.metadata?.org_id ?? null, status: s.status, subscriptionId: idOf(s.subscription) };
  } catch (err) {
    if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404) return null;
    throw err;
  }
}

// ---- invoices ---------------------------------------------------------------------------------

export type InvoiceState = {
  id: string;
  customerId: string;
  subscriptionId: string | null;
  number: string | null;
  status: string;
  billingReason: string | null;
  currency: string;
  amountDue: number;
  amountPaid: number;
  total: number;
  periodStart: Date | null;
  periodEnd: Date | null;
  hostedInvoiceUrl: string | null;
  invoicePdf: string | null;
  created: Date;
  /** What the app wrote on the invoice (a top-up's terms: stripe-top-ups.server.ts). */
  metadata: Record<string, string>;
};

function invoiceState(inv: Stripe.Invoice): InvoiceState {
  const sub = inv.parent?.subscription_details?.subscription ?? null;
  // The service period is on the lines (the invoice's own period is the previous one for renewals).
  const line = inv.lines?.data?.find((l) => l.period) ?? null;
  return {
    id: inv.id!,
    customerId: typeof inv.customer === "string" ? inv.customer : inv.customer!.id,
    subscriptionId: sub === null ? null : typeof sub === "string" ? sub : sub.id,
    number: inv.number,
    status: inv.status ?? "draft",
    billingReason: inv.billing_reason,
    currency: inv.currency,
    amountDue: inv.amount_due,
    amountPaid: inv.amount_paid,
    total: inv.total,
    periodStart: line ? toDate(line.period.start) : null,
    periodEnd: line ? toDate(line.period.end) : null,
    hostedInvoiceUrl: inv.hosted_invoice_url ?? null,
    invoicePdf: inv.invoice_pdf ?? null,
    created: toDate(inv.created),
    metadata: inv.metadata ?? {},
  };
}

export async function retrieveInvoice(id: string): Promise<InvoiceState> {
  return invoiceState(await stripe.invoices.retrieve(id));
}

// ---- plan changes ------------------------------------------------------------------------------

/** Stripe's "now" for a customer: its test clock's time, or the wall clock. */
export async function clockNow(customerId: string): Promise<number> {
  const customer = await stripe.customers.retrieve(customerId);
  const clock = "test_clock" in customer ? customer.test_clock : null;
  if (clock) return (await stripe.testHelpers.testClocks.retrieve(typeof clock === "string" ? clock : clock.id)).frozen_time;
  return Math.floor(Date.now() / 1000);
}

/** Stripe's own proration for moving the subscription to `priceId` at `prorationDate`, invoiced now. */
export async function previewPriceChange(input: {
  subscriptionId: string;
  itemId: string;
  meteredItems: SubscriptionState["meteredItems"];
  customerId: string;
  priceId: string;
  metered: MeteredPrice[];
  prorationDate: number;
}) {
  // The same items as the update sends, so the preview is the invoice it makes.
  const items = [{ id: input.itemId, price: input.priceId }, ...meteredItemChanges(input.meteredItems, input.metered)];
  const preview = await stripe.invoices.createPreview({
    customer: input.customerId,
    subscription: input.subscriptionId,
    subscription_details: { items, proration_date: input.prorationDate, proration_behavior: "always_invoice" },
  });
  return { amountDue: preview.amount_due, lines: preview.lines.data.map((l) => ({ description: l.description ?? "", amount: l.amount })) };
}

/**
 * Moves the subscription to `priceId` now, prorated at `prorationDate` (the preview's) and
 * invoiced at once. `idempotencyKey` names the change; Stripe's key adds the request's body.
 */
export async function updateSubscriptionPrice(input: {
  subscriptionId: string;
  priceId: string;
  /** The target plan's metered prices (overage; none on a yearly price). */
  metered: MeteredPrice[];
  endTrial: boolean;
  prorationDate: number | null;
  idempotencyKey: string;
}): Promise<SubscriptionState> {
  const current = await retrieveSubscription(input.subscriptionId);
  const params: Stripe.SubscriptionUpdateParams = {
    items: [{ id: current.itemId, price: input.priceId }, ...meteredItemChanges(current.meteredItems, input.metered)],
    proration_behavior: "always_invoice",
    ...(input.endTrial ? { trial_end: "now" as const } : input.prorationDate ? { proration_date: input.prorationDate } : {}),
    expand: ["schedule"],
  };
  const sub = await stripe.subscriptions.update(input.subscriptionId, params, {
    idempotencyKey: requestKey(input.idempotencyKey, { subscription: input.subscriptionId, params }),
  });
  return subscriptionState(sub);
}

/**
 * Withdraws a cancellation set for the period end (`cancel_at_period_end` back to false): the
 * subscription renews as before. Stripe refuses this on a subscription a schedule manages.
 */
export async function resumeSubscription(input: { subscriptionId: string; idempotencyKey: string }): Promise<SubscriptionState> {
  const params: Stripe.SubscriptionUpdateParams = { cancel_at_period_end: false, expand: ["schedule"] };
  const sub = await stripe.subscriptions.update(input.subscriptionId, params, {
    idempotencyKey: requestKey(input.idempotencyKey, { subscription: input.subscriptionId, params }),
  });
  return subscriptionState(sub);
}
