// Top-up packs in Stripe: the one-time price of each pack, the one-off invoice that charges a
// saved card, and the payment-mode Checkout for a customer without one. As Stripe documents a
// one-off charge of a saved card: a draft invoice (`pending_invoice_items_behavior: exclude`, so
// nothing else the customer owes rides along), an invoice item of the pack's price × packs,
// finalized with `auto_advance: false` and paid `off_session` at once. Every call carries an
// idempotency key derived from the caller's: a retry meets the same invoice, never a second one.
import Stripe from "stripe";
import { config } from "../platform/config.server";
import { stripe } from "./stripe-client.server";
import { requestKey } from "./stripe-keys.server";

export type TopUpPack = { metric: string; units: number; priceCents: number; currency: string };

/** What a top-up's invoice and session carry in Stripe's metadata: the grant is made from it. */
export type TopUpMetadata = { kind: "top_up"; org_id: string; metric: string; packs: string; units: string; source: "top_up" | "auto_top_up" };

/** The lookup key a pack's price is found by. */
export const topUpLookupKey = (metric: string) => `metered_top_up_${metric}`;

/** The one-time price a pack is sold at (made here in test mode; ops stripe:check prints it for live mode). */
export const topUpPriceParams = (pack: TopUpPack) =>
  ({
    currency: pack.currency,
    unit_amount: pack.priceCents,
    lookup_key: topUpLookupKey(pack.metric),
    product_data: { name: `Metered top-up: ${pack.units.toLocaleString("en-US")} ${pack.metric}` },
    metadata: { top_up_metric: pack.metric },
  }) satisfies Stripe.PriceCreateParams;

/** Whether a Stripe price bills a pack: one-time, its amount and currency. */
export const billsPack = (price: Pick<Stripe.Price, "unit_amount" | "currency" | "type">, pack: TopUpPack) =>
  price.unit_amount === pack.priceCents && price.currency === pack.currency && price.type === "one_time";

/**
 * The one-time Stripe price of a pack: the one holding its lookup key if it bills the pack's
 * amount and currency, else (test mode and locally) a new one that takes the key over. In live
 * mode a missing or outdated price is an error naming it, as for plans: an operator makes it.
 */
export async function topUpPrice(pack: TopUpPack): Promise<string> {
  const key = topUpLookupKey(pack.metric);
  const [found] = (await stripe.prices.list({ lookup_keys: [key], active: true, limit: 1 })).data;
  if (found && billsPack(found, pack)) return found.id;
  if (config.stripeMode === "live")
    throw new Error(
      `${found ? `Stripe price ${found.id} (lookup key ${key}) no longer bills` : "No Stripe price for"} the ${pack.metric} top-up pack: create a one-time price of ${pack.priceCents} ${pack.currency} with lookup key ${key}`,
    );
  const params: Stripe.PriceCreateParams = { ...topUpPriceParams(pack), ...(found ? { transfer_lookup_key: true } : {}) };
  return (await stripe.prices.create(params, { idempotencyKey: requestKey(`price:${key}`, params) })).id;
}

/** The customer's saved card (its default payment method for invoices), or null. */
export async function savedCard(customerId: string): Promise<string | null> {
  const customer = await stripe.customers.retrieve(customerId);
  if (customer.deleted) return null;
  const pm = customer.invoice_settings?.default_payment_method;
  return typeof pm === "string" ? pm : (pm?.id ?? null);
}

/**
 * A charge's outcome: paid; pending (Stripe took the payment but confirms it later, as for a
 * bank debit: `invoice.paid` grants it); or failed, with Stripe's words for the customer.
 */
export type Charged =
  | { state: "paid"; invoiceId: string; amountPaid: number; currency: string }
  | { state: "pending"; invoiceId: string }
  | { state: "failed"; invoiceId: string; reason: string };

/**
 * Charges the customer's saved card for `packs` packs at once through a one-off invoice. A card
 * Stripe refuses (402) leaves nothing owed: the invoice is voided, and the answer says why.
 * `key` names the purchase (the caller's idempotency key, scoped to the org).
 */
export async function chargeSavedCard(input: { customerId: string; priceId: string; packs: number; metadata: TopUpMetadata; key: string }): Promise<Charged> {
  const create: Stripe.InvoiceCreateParams = {
    customer: input.customerId,
    collection_method: "charge_automatically",
    auto_advance: false,
    pending_invoice_items_behavior: "exclude",
    description: `Top-up: ${input.metadata.units} ${input.metadata.metric}`,
    metadata: input.metadata,
  };
  const draft = await stripe.invoices.create(create, { idempotencyKey: requestKey(`${input.key}:invoice`, create) });
  const invoiceId = draft.id!;
  const item: Stripe.InvoiceItemCreateParams = {
    customer: input.customerId,
    invoice: invoiceId,
    pricing: { price: input.priceId },
    quantity: input.packs,
    metadata: input.metadata,
  };
  await stripe.invoiceItems.create(item, { idempotencyKey: requestKey(`${input.key}:item`, item) });
  const current = await stripe.invoices.retrieve(invoiceId);
  // A retry after a decline whose answer was never stored: the invoice was voided then.
  if (current.status === "void") return { state: "failed", invoiceId, reason: "The payment failed and its invoice was voided." };
  if (current.status === "draft")
    await stripe.invoices.finalizeInvoice(invoiceId, { auto_advance: false }, { idempotencyKey: requestKey(`${input.key}:finalize`, { invoiceId }) });
  try {
    const paid =
      current.status === "paid"
        ? current
        : await stripe.invoices.pay(invoiceId, { off_session: true }, { idempotencyKey: requestKey(`${input.key}:pay`, { invoiceId }) });
    // Only a paid invoice grants now; one still open is being paid, and its webhook grants it.
    if (paid.status !== "paid") return { state: "pending", invoiceId };
    return { state: "paid", invoiceId, amountPaid: paid.amount_paid, currency: paid.currency };
  } catch (err) {
    if (!(err instanceof Stripe.errors.StripeCardError)) throw err;
    // Nothing stays owed for a purchase the customer was told failed.
    const now = await stripe.invoices.retrieve(invoiceId);
    if (now.status === "open") await stripe.invoices.voidInvoice(invoiceId, {}, { idempotencyKey: requestKey(`${input.key}:void`, { invoiceId }) });
    return { state: "failed", invoiceId, reason: err.message };
  }
}

/** A payment-mode Checkout for `packs` packs (the customer has no saved card): its URL and id. */
export async function topUpCheckout(input: {
  customerId: string;
  priceId: string;
  packs: number;
  metadata: TopUpMetadata;
  successUrl: string;
  cancelUrl: string;
  key: string;
}): Promise<{ url: string; sessionId: string }> {
  const params: Stripe.Checkout.SessionCreateParams = {
    mode: "payment",
    customer: input.customerId,
    client_reference_id: input.metadata.org_id,
    line_items: [{ price: input.priceId, quantity: input.packs }],
    metadata: input.metadata,
    success_url: input.successUrl,
    cancel_url: input.cancelUrl,
  };
  const session = await stripe.checkout.sessions.create(params, { idempotencyKey: requestKey(`${input.key}:checkout`, params) });
  if (!session.url) throw new Error("checkout session without url");
  return { url: session.url, sessionId: session.id };
}

/** A top-up's Checkout Session as the grant reads it back from Stripe. */
export type PaidInStripe = { id: string; customerId: string; paid: boolean; amountPaid: number; currency: string; metadata: Record<string, string> };

export async function retrieveTopUpSession(id: string): Promise<PaidInStripe | null> {
  const s = await stripe.checkout.sessions.retrieve(id);
  const customerId = typeof s.customer === "string" ? s.customer : (s.customer?.id ?? null);
  if (!customerId) return null;
  return {
    id,
    customerId,
    paid: s.status === "complete" && s.payment_status === "paid",
    amountPaid: s.amount_total ?? 0,
    currency: s.currency ?? "usd",
    metadata: s.metadata ?? {},
  };
}

/** The saved card as a person recognises it ("visa ending 4242"), or null without one. */
export async function savedCardSummary(customerId: string): Promise<{ brand: string; last4: string } | null> {
  const pm = await savedCard(customerId);
  if (!pm) return null;
  const card = (await stripe.paymentMethods.retrieve(pm)).card;
  return card ? { brand: card.brand, last4: card.last4 } : null;
}
