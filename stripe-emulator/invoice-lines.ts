// A subscription invoice line, as invoices.ts and metered.ts both write them (its own file so
// that the two do not import each other).
import type Stripe from "stripe";
import { wireDecimal } from "./account";
import { newId } from "./store";

type Sub = Stripe.Subscription;

export function line(input: {
  amount: number;
  description: string;
  price: Stripe.Price;
  sub: Sub;
  /** The subscription item billed (the first, licensed one unless named). */
  item?: Stripe.SubscriptionItem;
  start: number;
  end: number;
  proration: boolean;
}): Stripe.InvoiceLineItem {
  return {
    id: newId("il"),
    object: "line_item",
    amount: input.amount,
    currency: input.price.currency,
    description: input.description,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: null,
    livemode: false,
    metadata: {},
    parent: {
      type: "subscription_item_details",
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: null,
        proration: input.proration,
        proration_details: { credited_items: null },
        subscription: input.sub.id,
        subscription_item: (input.item ?? input.sub.items.data[0]).id,
      },
    },
    period: { start: input.start, end: input.end },
    pretax_credit_amounts: [],
    pricing: {
      type: "price_details",
      price_details: { price: input.price.id, product: input.price.product as string },
      unit_amount_decimal: input.price.unit_amount_decimal ?? wireDecimal(input.price.unit_amount ?? 0),
    },
    quantity: 1,
    quantity_decimal: wireDecimal(1),
    subscription: input.sub.id,
    subtotal: input.amount,
    taxes: [],
  };
}
