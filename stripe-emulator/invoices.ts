// Invoices as Stripe runs them: a renewal invoice is a draft for an hour (`invoice.created`),
// then finalized and charged; a failed charge is `invoice.payment_failed` and retried on the
// account's schedule, after which the subscription is canceled or marked unpaid. Events are
// emitted in Stripe's order, at the customer's clock time.
import type Stripe from "stripe";
import { type Account, cardCharges, DRAFT_SECONDS } from "./account";
import { refreshMeteredLines } from "./metered";
import { newId } from "./store";
import { cancelNow, setStatus, subscriptionOf } from "./subscription-status";

type Sub = Stripe.Subscription;
type Inv = Stripe.Invoice;

export async function buildInvoice(
  b: Account,
  sub: Sub | null,
  lines: Stripe.InvoiceLineItem[],
  reason: Stripe.Invoice.BillingReason,
  now: number,
  opts: { preview?: boolean; customer?: string } = {},
): Promise<Inv> {
  // A one-off invoice (no subscription) names its customer itself.
  const customerId = sub ? (sub.customer as string) : opts.customer!;
  const customer = await b.store.get<Stripe.Customer>(customerId);
  const id = opts.preview ? newId("upcoming_in") : newId("in");
  const total = lines.reduce((s, l) => s + l.amount, 0);
  return {
    id,
    object: "invoice",
    account_country: "US",
    account_name: "Metered (local Stripe)",
    account_tax_ids: null,
    amount_due: Math.max(0, total),
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: Math.max(0, total),
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: false,
    auto_advance: !opts.preview,
    automatic_tax: { enabled: false, liability: null, disabled_reason: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: reason,
    collection_method: "charge_automatically",
    confirmation_secret: null,
    created: now,
    currency: lines[0]?.currency ?? "usd",
    custom_fields: null,
    customer: customerId,
    customer_account: null,
    customer_address: null,
    customer_email: customer?.email ?? null,
    customer_name: customer?.name ?? null,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: "none",
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: null,
    effective_at: null,
    ending_balance: null,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: opts.preview ? null : `${b.publicUrl}/invoice/${id}`,
    invoice_pdf: opts.preview ? null : `${b.publicUrl}/invoice/${id}/pdf`,
    issuer: { type: "self" },
    last_finalization_error: null,
    latest_revision: null,
    lines: { object: "list", data: lines.map((l) => ({ ...l, invoice: id })), has_more: false, url: `/v1/invoices/${id}/lines` },
    livemode: false,
    metadata: {},
    next_payment_attempt: null,
    number: null,
    on_behalf_of: null,
    parent: sub ? { type: "subscription_details", quote_details: null, subscription_details: { metadata: sub.metadata, subscription: sub.id } } : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: now,
    period_start: now,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: "draft",
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subtotal: total,
    subtotal_excluding_tax: total,
    test_clock: (customer?.test_clock as string | null) ?? null,
    total,
    total_discount_amounts: [],
    total_excluding_tax: total,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  };
}

/**
 * Creates a subscription invoice. A renewal (`subscription_cycle`) stays a draft for an hour
 * and is finalized by the clock; any other is finalized and charged at once.
 */
export async function createInvoice(b: Account, sub: Sub, lines: Stripe.InvoiceLineItem[], reason: Stripe.Invoice.BillingReason, now: number) {
  const invoice = await buildInvoice(b, sub, lines, reason, now);
  const draft = reason === "subscription_cycle";
  if (draft) {
    invoice.automatically_finalizes_at = now + DRAFT_SECONDS;
    invoice.next_payment_attempt = now + DRAFT_SECONDS;
  }
  await b.store.put(invoice);
  await b.events.emit("invoice.created", invoice, now);
  sub.latest_invoice = invoice.id;
  await b.store.put(sub);
  if (!draft) await finalizeInvoice(b, invoice, now);
  return invoice;
}

/** Finalizes a draft (`invoice.finalized`): it gets its number now, then the first payment attempt. */
export async function finalizeInvoice(b: Account, invoice: Inv, at: number): Promise<boolean> {
  await finalizeOnly(b, invoice, at);
  return chargeInvoice(b, invoice, at);
}

/** Finalizes a draft without charging it (`invoice.finalized`): an invoice finalized through the API with `auto_advance: false` waits to be paid. */
export async function finalizeOnly(b: Account, invoice: Inv, at: number): Promise<void> {
  // A draft's metered usage counts until it is finalized (usage reported late, dated in the period).
  const subId = subscriptionOf(invoice);
  if (invoice.status === "draft") await refreshMeteredLines(b, invoice, subId ? await b.store.get<Sub>(subId) : null);
  const seq = await b.store.next(`invoice_number:${invoice.customer}`);
  invoice.number = `${(invoice.customer as string).slice(4, 12).toUpperCase()}-${String(seq).padStart(4, "0")}`;
  invoice.status = "open";
  invoice.automatically_finalizes_at = null;
  invoice.effective_at = at;
  invoice.ending_balance = 0;
  invoice.status_transitions.finalized_at = at;
  await b.store.put(invoice);
  await b.events.emit("invoice.finalized", invoice, at, { status: "draft" });
}

/**
 * One payment attempt on an open invoice, with the subscription's status following the outcome.
 * `card` is a card number the customer entered on the hosted invoice page: it is charged instead
 * of the saved method and saved nowhere. As Stripe counts attempts, the customer's attempt is one
 * of the retry schedule only when it is the invoice's first: a later one that fails sends
 * `invoice.payment_failed` and changes nothing else.
 */
export async function chargeInvoice(b: Account, invoice: Inv, at: number, card?: string): Promise<boolean> {
  const subId = subscriptionOf(invoice);
  const sub = subId ? await b.store.get<Sub>(subId) : null;
  const customer = await b.store.get<Stripe.Customer>(invoice.customer as string);
  const pm = (sub?.default_payment_method as string | null) ?? (customer?.invoice_settings?.default_payment_method as string | null) ?? null;
  const paid = invoice.amount_due === 0 || (card === undefined ? await b.chargeSucceeds(pm) : cardCharges(card));
  const counts = invoice.amount_due > 0 && !(card !== undefined && invoice.attempted);
  if (counts) {
    invoice.attempt_count += 1;
    invoice.attempted = true;
  }
  if (paid) {
    invoice.status = "paid";
    invoice.amount_paid = invoice.amount_due;
    invoice.amount_remaining = 0;
    invoice.next_payment_attempt = null;
    invoice.status_transitions.paid_at = at;
    await b.store.put(invoice);
    await b.events.emit("invoice.paid", invoice, at, { status: "open" });
    await b.events.emit("invoice.payment_succeeded", invoice, at);
    if (sub && (sub.status === "past_due" || sub.status === "unpaid")) await setStatus(b, sub, "active", at);
    return true;
  }
  if (!counts) {
    await b.events.emit("invoice.payment_failed", invoice, at);
    return false;
  }
  // Stripe retries renewals and changes on the account's schedule; the first invoice of a new
  // subscription is not retried (the subscription is incomplete and expires after 23 hours).
  // An invoice Stripe does not advance by itself (`auto_advance: false`, a one-off charged through
  // the API) is not retried either: the caller decides.
  const retries = invoice.billing_reason === "subscription_create" || !invoice.auto_advance ? [] : b.dunning.retryDays;
  const firstAttempt = invoice.status_transitions.finalized_at ?? at;
  const nextDay = retries[invoice.attempt_count - 1];
  invoice.next_payment_attempt = nextDay === undefined ? null : firstAttempt + nextDay * 86_400;
  await b.store.put(invoice);
  await b.events.emit("invoice.payment_failed", invoice, at);
  if (!sub || invoice.billing_reason === "subscription_create") return false;
  if (invoice.next_payment_attempt !== null) {
    if (sub.status === "active" || sub.status === "trialing") await setStatus(b, sub, "past_due", at);
  } else if (b.dunning.finalAction === "cancel") {
    await cancelNow(b, sub, at, "payment_failed");
  } else {
    await setStatus(b, sub, "unpaid", at);
  }
  return false;
}

/** Voids an open invoice (`invoice.voided`): it is no longer owed. */
export async function voidInvoice(b: Account, invoice: Inv, at: number) {
  invoice.status = "void";
  invoice.next_payment_attempt = null;
  invoice.auto_advance = false;
  invoice.status_transitions.voided_at = at;
  await b.store.put(invoice);
  await b.events.emit("invoice.voided", invoice, at, { status: "open" });
}
