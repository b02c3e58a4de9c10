// One-off invoices, as Stripe documents charging a customer's saved card for a purchase outside
// any subscription: create a draft invoice (`pending_invoice_items_behavior: exclude`), add an
// invoice item to it (a one-time price × quantity), finalize it (`auto_advance: false`: nothing
// is charged yet), then pay it (`off_session`), which charges the customer's default payment
// method at once: paid (`invoice.paid`), or refused with Stripe's 402 `card_declined` (and
// `invoice.payment_failed`), the invoice left open. An open invoice can be voided.
import type Stripe from "stripe";
import { type Account, cardDeclined, invalid, missing, wireDecimal } from "./account";
import { customerOf, refuseOtherCurrency } from "./customers";
import { int, meta, obj, str } from "./form";
import { buildInvoice, chargeInvoice, finalizeOnly, voidInvoice } from "./invoices";
import { boolean, integer, metadata, object, oneOf, string } from "./params";
import type { Route } from "./route";
import { newId } from "./store";

type Inv = Stripe.Invoice;

async function invoiceOf(b: Account, id: string): Promise<Inv> {
  const inv = await b.store.get<Inv>(id);
  if (inv?.object !== "invoice") throw missing("invoice", id);
  return inv;
}

/** The totals follow the lines (no tax, no discount, no customer balance here). */
function retotal(inv: Inv) {
  const total = inv.lines.data.reduce((s, l) => s + l.amount, 0);
  Object.assign(inv, {
    subtotal: total,
    subtotal_excluding_tax: total,
    total,
    total_excluding_tax: total,
    amount_due: Math.max(0, total),
    amount_remaining: Math.max(0, total) - inv.amount_paid,
  });
}

export const oneOffInvoiceRoutes: Route[] = [
  [
    "POST",
    /^\/v1\/invoices$/,
    {
      customer: string,
      collection_method: oneOf("charge_automatically"),
      auto_advance: boolean,
      description: string,
      metadata,
      pending_invoice_items_behavior: oneOf("exclude"),
    },
    async (b, p) => {
      const customerId = str(p.customer);
      if (!customerId) throw invalid("Missing required param: customer.", "customer");
      await customerOf(b, customerId, "customer");
      const now = await b.nowFor(customerId);
      const inv = await buildInvoice(b, null, [], "manual", now, { customer: customerId });
      // Stripe's default for an invoice made through the API is to advance it by itself; the app asks not to.
      inv.auto_advance = p.auto_advance === undefined ? true : p.auto_advance === "true";
      inv.description = str(p.description) ?? null;
      inv.metadata = meta(p.metadata);
      await b.store.put(inv);
      await b.events.emit("invoice.created", inv, now);
      return inv;
    },
  ],
  [
    "POST",
    /^\/v1\/invoiceitems$/,
    { customer: string, invoice: string, pricing: object({ price: string }), quantity: integer({ min: 1 }), description: string, metadata },
    async (b, p) => {
      const customerId = str(p.customer);
      if (!customerId) throw invalid("Missing required param: customer.", "customer");
      await customerOf(b, customerId, "customer");
      // Stripe would keep an item without `invoice` pending for the customer's next invoice; the
      // local Stripe adds items to a named draft only, which is all the app does.
      const invoiceId = str(p.invoice);
      if (!invoiceId) throw invalid("The local Stripe adds invoice items to a draft invoice named by `invoice` only.", "invoice");
      const inv = await invoiceOf(b, invoiceId);
      if (inv.customer !== customerId) throw invalid(`Invoice ${invoiceId} is not an invoice of customer ${customerId}.`, "invoice");
      if (inv.status !== "draft") throw invalid(`You can only add invoice items to draft invoices. Invoice ${invoiceId} is ${inv.status}.`, "invoice");
      const priceId = str(obj(p.pricing).price);
      if (!priceId) throw invalid("The local Stripe makes invoice items from a price only: give pricing[price].", "pricing[price]");
      const price = await b.price(priceId);
      if (price.recurring) throw invalid(`The price specified (${priceId}) is a recurring price; invoice items take one-time prices.`, "pricing[price]");
      await refuseOtherCurrency(b, customerId, price.currency, "pricing[price]");
      const quantity = int(p.quantity) ?? 1;
      const amount = (price.unit_amount ?? 0) * quantity;
      const now = await b.nowFor(customerId);
      const description = str(p.description) ?? `${quantity} × ${await b.productName(price)}`;
      const customer = await b.store.get<Stripe.Customer>(customerId);
      const item: Stripe.InvoiceItem = {
        id: newId("ii"),
        object: "invoiceitem",
        amount,
        currency: price.currency,
        customer: customerId,
        customer_account: null,
        date: now,
        description,
        discountable: true,
        discounts: [],
        invoice: inv.id,
        livemode: false,
        metadata: meta(p.metadata),
        parent: null,
        period: { start: now, end: now },
        pricing: {
          type: "price_details",
          price_details: { price: price.id, product: price.product as string },
          unit_amount_decimal: wireDecimal(price.unit_amount ?? 0),
        },
        proration: false,
        quantity,
        quantity_decimal: wireDecimal(quantity),
        tax_rates: [],
        test_clock: (customer?.test_clock as string | null) ?? null,
      };
      await b.store.put(item);
      inv.currency = price.currency;
      inv.lines.data.push({
        id: newId("il"),
        object: "line_item",
        amount,
        currency: price.currency,
        description,
        discount_amounts: [],
        discountable: true,
        discounts: [],
        invoice: inv.id,
        livemode: false,
        metadata: meta(p.metadata),
        parent: {
          type: "invoice_item_details",
          invoice_item_details: { invoice_item: item.id, proration: false, proration_details: { credited_items: null }, subscription: null },
          subscription_item_details: null,
        },
        period: { start: now, end: now },
        pretax_credit_amounts: [],
        pricing: item.pricing,
        quantity,
        quantity_decimal: wireDecimal(quantity),
        subscription: null,
        subtotal: amount,
        taxes: [],
      });
      retotal(inv);
      await b.store.put(inv);
      await b.events.emit("invoiceitem.created", item, now);
      return item;
    },
  ],
  [
    "POST",
    /^\/v1\/invoices\/([^/]+)\/finalize$/,
    { auto_advance: boolean },
    async (b, p, [id]) => {
      const inv = await invoiceOf(b, id);
      if (inv.status !== "draft") throw invalid(`This invoice is already finalized, you can't re-finalize a non-draft invoice.`);
      if (p.auto_advance !== undefined) inv.auto_advance = p.auto_advance === "true";
      await finalizeOnly(b, inv, await b.nowFor(inv.customer as string));
      // An invoice left to advance by itself is charged at once (Stripe attempts it within the hour).
      if (inv.auto_advance) await chargeInvoice(b, inv, await b.nowFor(inv.customer as string));
      return b.store.get(id);
    },
  ],
  [
    "POST",
    /^\/v1\/invoices\/([^/]+)\/pay$/,
    { off_session: boolean },
    async (b, _p, [id]) => {
      const inv = await invoiceOf(b, id);
      if (inv.status === "paid") throw invalid("Invoice is already paid.");
      if (inv.status !== "open") throw invalid(`This invoice can no longer be paid: it is ${inv.status}.`);
      const paid = await chargeInvoice(b, inv, await b.nowFor(inv.customer as string));
      // Stripe answers a failed payment of `pay` with the card's error (the invoice stays open).
      if (!paid) throw cardDeclined();
      return b.store.get(id);
    },
  ],
  [
    "POST",
    /^\/v1\/invoices\/([^/]+)\/void$/,
    {},
    async (b, _p, [id]) => {
      const inv = await invoiceOf(b, id);
      if (inv.status !== "open") throw invalid(`You can only void open invoices. This invoice is ${inv.status}.`);
      await voidInvoice(b, inv, await b.nowFor(inv.customer as string));
      return b.store.get(id);
    },
  ],
];
