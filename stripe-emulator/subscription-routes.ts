// The /v1 routes of subscriptions, invoices and events (the behaviour lives in subscriptions.ts,
// invoices.ts and events.ts).
import type Stripe from "stripe";
import { invalid, missing } from "./account";
import { refuseOtherCurrency } from "./customers";
import { arr, type FormValue, int, meta, obj, str } from "./form";
import { itemPrices } from "./metered";
import { array, boolean, expandable, integer, listParams, metadata, object, oneOf, type Param, string, timestamp } from "./params";
import { list, type Route } from "./route";
import { cancelNow } from "./subscription-status";
import { billingModeParam, classicBillingMode, createSubscription, previewInvoice, subscription, updateSubscription } from "./subscriptions";

export const subscriptionRoutes: Route[] = [
  [
    "POST",
    /^\/v1\/subscriptions$/,
    {
      customer: string,
      items: array(object({ price: string, quantity: integer({ min: 1 }) })),
      trial_period_days: integer({ min: 0 }),
      trial_end: timestamp("now"),
      default_payment_method: string,
      payment_behavior: oneOf("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"),
      metadata,
      billing_mode: billingModeParam,
    },
    async (b, p) => {
      const items = arr(p.items);
      if (items.length === 0) throw invalid("Missing required param: items[0][price].", "items");
      const prices = await itemPrices(b, items, "items");
      await refuseOtherCurrency(b, str(p.customer) ?? "", prices[0].currency, "items");
      return createSubscription(b, {
        billingMode: classicBillingMode(p.billing_mode, "billing_mode"),
        customer: str(p.customer) ?? "",
        prices,
        trialDays: int(p.trial_period_days),
        trialEnd: int(p.trial_end),
        paymentMethod: str(p.default_payment_method),
        paymentBehavior: str(p.payment_behavior),
        metadata: meta(p.metadata),
      });
    },
  ],
  [
    "GET",
    /^\/v1\/subscriptions$/,
    {
      ...listParams,
      customer: string,
      status: oneOf("active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due", "paused", "trialing", "unpaid"),
    },
    async (b, p) =>
      list<Stripe.Subscription>(
        b,
        "subscription",
        p,
        (s) => (!str(p.customer) || s.customer === str(p.customer)) && statusMatches(s.status, str(p.status)),
        "/v1/subscriptions",
      ),
  ],
  [
    "GET",
    /^\/v1\/subscriptions\/([^/]+)$/,
    { expand: expandable("schedule", "latest_invoice", "customer", "default_payment_method") },
    async (b, _p, [id]) => subscription(b, id),
  ],
  [
    "POST",
    /^\/v1\/subscriptions\/([^/]+)$/,
    {
      items: array(object({ id: string, price: string, quantity: integer({ min: 1 }), deleted: boolean })),
      proration_behavior: oneOf("create_prorations", "none", "always_invoice"),
      proration_date: integer({ min: 0 }),
      trial_end: timestamp("now"),
      cancel_at_period_end: boolean,
      default_payment_method: string,
      metadata,
      expand: expandable("schedule", "latest_invoice", "customer", "default_payment_method"),
    },
    async (b, p, [id]) => updateSubscription(b, id, p),
  ],
  [
    "DELETE",
    /^\/v1\/subscriptions\/([^/]+)$/,
    {},
    async (b, _p, [id]) => {
      const sub = await subscription(b, id);
      return cancelNow(b, sub, await b.nowFor(sub.customer as string));
    },
  ],
];

export const invoiceRoutes: Route[] = [
  [
    "GET",
    /^\/v1\/invoices$/,
    { ...listParams, customer: string, subscription: string, status: oneOf("draft", "open", "paid", "uncollectible", "void") },
    async (b, p) =>
      list<Stripe.Invoice>(
        b,
        "invoice",
        p,
        (i) =>
          (!str(p.customer) || i.customer === str(p.customer)) &&
          (!str(p.subscription) || i.parent?.subscription_details?.subscription === str(p.subscription)) &&
          (!str(p.status) || i.status === str(p.status)),
        "/v1/invoices",
      ),
  ],
  [
    "GET",
    /^\/v1\/invoices\/([^/]+)$/,
    { expand: expandable("customer", "subscription") },
    async (b, _p, [id]) => (await b.store.get(id)) ?? Promise.reject(missing("invoice", id)),
  ],
  [
    "POST",
    /^\/v1\/invoices\/create_preview$/,
    {
      customer: string,
      subscription: string,
      subscription_details: object({
        items: array(object({ id: string, price: string, quantity: integer({ min: 1 }), deleted: boolean })),
        proration_behavior: oneOf("create_prorations", "none", "always_invoice"),
        proration_date: integer({ min: 0 }),
      }),
    },
    async (b, p) => previewInvoice(b, p),
  ],
];

/** `created`: a timestamp, or a range of `gt`, `gte`, `lt`, `lte`. */
const createdRange: Param = (value, name) =>
  typeof value === "string" ? integer()(value, name) : object({ gt: integer(), gte: integer(), lt: integer(), lte: integer() })(value, name);
export const eventRoutes: Route[] = [
  ["GET", /^\/v1\/events\/([^/]+)$/, {}, async (b, _p, [id]) => (await b.store.get(id)) ?? Promise.reject(missing("event", id))],
  [
    "GET",
    /^\/v1\/events$/,
    { ...listParams, type: string, types: array(string), created: createdRange },
    async (b, p) => {
      const types = arr(p.types).map(String);
      const created = inRange(p.created);
      return list<Stripe.Event>(
        b,
        "event",
        p,
        (e) => (!str(p.type) || e.type === str(p.type)) && (types.length === 0 || types.includes(e.type)) && created(e.created),
        "/v1/events",
      );
    },
  ],
];

function inRange(value: FormValue | undefined): (t: number) => boolean {
  if (value === undefined) return () => true;
  if (typeof value === "string") return (t) => t === Number(value);
  const r = obj(value);
  const [gt, gte, lt, lte] = [int(r.gt), int(r.gte), int(r.lt), int(r.lte)];
  return (t) => (gt === undefined || t > gt) && (gte === undefined || t >= gte) && (lt === undefined || t < lt) && (lte === undefined || t <= lte);
}

/** Stripe's list filter: `all` is every status, none given is every one but `canceled`. */
function statusMatches(status: string, wanted: string | undefined): boolean {
  if (wanted === "all") return true;
  return wanted ? status === wanted : status !== "canceled";
}
