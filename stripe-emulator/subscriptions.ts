// Subscriptions: create, update (price changes with Stripe's per-second proration, each line
// rounded on its own; ending a trial), the upcoming-invoice preview, renewal at a period
// boundary, and the ends of a subscription (canceled, incomplete_expired). Periods live on the
// subscription item, as in API versions since 2025-03-31.
import type Stripe from "stripe";
import { type Account, addMonths, invalid, legacyPlan, missing, monthsOf, periodAt, pricePer, StripeError } from "./account";
import { customerOf, refuseOtherCurrency } from "./customers";
import { arr, bool, type FormValue, int, meta, obj, str } from "./form";
import { line } from "./invoice-lines";
import { buildInvoice, createInvoice, voidInvoice } from "./invoices";
import {
  alignPeriods,
  checkItemSet,
  isMetered,
  meteredItems,
  newItem,
  renewalMeteredLines,
  syncMeteredItems,
  unsupportedItem,
  type WantedItem,
} from "./metered";
import { object, oneOf } from "./params";
import { newId } from "./store";
import { cancelNow, setStatus } from "./subscription-status";

type Sub = Stripe.Subscription;
type Params = Record<string, FormValue>;

/**
 * The billing mode a new subscription gets. Since 2025-09-30.clover (the SDK's pinned version is
 * later) Stripe makes it `flexible` unless the request says `classic`; the local Stripe computes
 * classic prorations and invoices only, so it refuses what would be flexible.
 */
export function classicBillingMode(value: FormValue | undefined, param: string): Sub["billing_mode"] {
  const type = str(obj(value).type) ?? "flexible";
  if (type !== "classic")
    throw invalid(
      `The local Stripe computes subscriptions in billing_mode classic only, and ${type === "flexible" && value === undefined ? "the pinned API version makes them flexible when none is named" : "flexible was asked for"}: send ${param}[type]=classic.`,
      `${param}[type]`,
    );
  return { type: "classic", flexible: null };
}
export const billingModeParam = object({ type: oneOf("classic", "flexible"), flexible: object({ proration_discounts: oneOf("included", "itemized") }) });

export async function subscription(b: Account, id: string): Promise<Sub> {
  const sub = await b.store.get<Sub>(id);
  if (!sub) throw missing("subscription", id);
  return sub;
}

export async function createSubscription(
  b: Account,
  input: {
    customer: string;
    /** Its prices, checked by itemPrices (metered.ts): the licensed one first. */
    prices: Stripe.Price[];
    trialDays?: number;
    trialEnd?: number;
    paymentMethod?: string | null;
    paymentBehavior?: string;
    metadata?: Record<string, string>;
    billingMode: Sub["billing_mode"];
  },
): Promise<Sub> {
  const customer = await customerOf(b, input.customer, "customer");
  const [price, ...metered] = input.prices;
  const now = await b.nowFor(input.customer);
  const pm = input.paymentMethod ?? (customer.invoice_settings?.default_payment_method as string | null) ?? null;
  const trialEnd = input.trialEnd ?? (input.trialDays ? now + input.trialDays * 86_400 : null);
  const anchor = trialEnd ?? now;
  const periodEnd = trialEnd ?? addMonths(now, monthsOf(price));
  const sub: Sub = {
    id: newId("sub"),
    object: "subscription",
    application: null,
    application_fee_percent: null,
    automatic_tax: { enabled: false, disabled_reason: null, liability: null },
    billing_cycle_anchor: anchor,
    billing_cycle_anchor_config: null,
    billing_schedules: [],
    billing_mode: input.billingMode,
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method: "charge_automatically",
    created: now,
    currency: price.currency,
    customer: input.customer,
    customer_account: null,
    days_until_due: null,
    default_payment_method: pm,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: null,
    invoice_settings: { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: { type: "self" } },
    items: {
      object: "list",
      data: [price, ...metered].map((p) => newItem(p, "", now, periodEnd, now)),
      has_more: false,
      url: "/v1/subscription_items",
    },
    latest_invoice: null,
    livemode: false,
    managed_payments: null,
    metadata: input.metadata ?? {},
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: "off" },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: now,
    status: trialEnd ? "trialing" : "incomplete",
    test_clock: (customer.test_clock as string | null) ?? null,
    transfer_data: null,
    trial_end: trialEnd,
    trial_settings: { end_behavior: { billing_cycle_anchor: null, missing_payment_method: "create_invoice" } },
    trial_start: trialEnd ? now : null,
  };
  for (const item of sub.items.data) item.subscription = sub.id;
  const name = await b.productName(price);
  const lines = [
    line({
      amount: trialEnd ? 0 : (price.unit_amount ?? 0),
      description: trialEnd ? `Trial period for ${name}` : `1 × ${name} (at ${pricePer(price)})`,
      price,
      sub,
      start: now,
      end: periodEnd,
      proration: false,
    }),
  ];
  if (!trialEnd && !pm && input.paymentBehavior === "error_if_incomplete")
    throw new StripeError(402, "card_error", "This customer has no attached payment source or default payment method.", { code: "resource_missing" });
  await b.store.put(sub);
  await b.events.emit("customer.subscription.created", sub, now);
  const invoice = await createInvoice(b, sub, lines, "subscription_create", now);
  if (!trialEnd) {
    if (invoice.status !== "paid" && input.paymentBehavior === "error_if_incomplete") {
      sub.status = "incomplete_expired";
      await b.store.put(sub);
      throw new StripeError(402, "card_error", "Your card was declined.", { code: "card_declined", decline_code: "generic_decline" });
    }
    if (invoice.status === "paid") await setStatus(b, sub, "active", now);
  }
  return (await b.store.get<Sub>(sub.id))!;
}

const intervalOf = (price: Stripe.Price) => `${price.recurring?.interval}:${price.recurring?.interval_count}`;

/**
 * A price change to another billing interval (monthly ↔ yearly), as Stripe does it: the billing
 * cycle anchor resets to `now`, the new period starts now and is invoiced at once in full, with a
 * credit for the old price's unused time from `at` (the proration date) unless `behavior` is
 * "none" (or the subscription is trialing, which has nothing to credit). Changes `sub` in place
 * and answers the invoice's lines. Null when the interval is the same (an ordinary price change).
 */
export async function changeInterval(
  b: Account,
  sub: Sub,
  price: Stripe.Price,
  behavior: string,
  at: number,
  now: number,
): Promise<Stripe.InvoiceLineItem[] | null> {
  const item = sub.items.data[0];
  if (intervalOf(item.price) === intervalOf(price)) return null;
  const lines = behavior === "none" || sub.status === "trialing" ? [] : [(await prorationLines(b, sub, price, at))[0]];
  const end = addMonths(now, monthsOf(price));
  item.price = price;
  item.plan = legacyPlan(price);
  item.current_period_start = now;
  item.current_period_end = end;
  sub.billing_cycle_anchor = now;
  if (sub.status === "trialing") {
    sub.status = "active";
    sub.trial_end = now;
  }
  lines.push(
    line({
      amount: price.unit_amount ?? 0,
      description: `1 × ${await b.productName(price)} (at ${pricePer(price)})`,
      price,
      sub,
      start: now,
      end,
      proration: false,
    }),
  );
  return lines;
}

/** Proration lines for moving `sub` to `newPrice` at `at`, exactly as Stripe computes them. */
export async function prorationLines(b: Account, sub: Sub, newPrice: Stripe.Price, at: number): Promise<Stripe.InvoiceLineItem[]> {
  const item = sub.items.data[0];
  const { current_period_start: s, current_period_end: e } = item;
  if (at < s || at > e) throw invalid("proration_date must be within the current period", "proration_date");
  const fraction = (e - at) / (e - s);
  const old = item.price;
  const when = new Date(at * 1000).toUTCString().slice(5, 16);
  const base = { sub, start: at, end: e, proration: true };
  return [
    line({
      ...base,
      amount: -Math.round((old.unit_amount ?? 0) * fraction),
      description: `Unused time on ${await b.productName(old)} after ${when}`,
      price: old,
    }),
    line({
      ...base,
      amount: Math.round((newPrice.unit_amount ?? 0) * fraction),
      description: `Remaining time on ${await b.productName(newPrice)} after ${when}`,
      price: newPrice,
    }),
  ];
}

/** Pending proration items (create_prorations) wait here for the next renewal invoice. */
export async function pendingItems(b: Account, subId: string): Promise<Stripe.InvoiceLineItem[]> {
  const holder = await b.store.get<{ lines: Stripe.InvoiceLineItem[] }>(`pending_${subId}`);
  return holder?.lines ?? [];
}

export async function setPendingItems(b: Account, subId: string, lines: Stripe.InvoiceLineItem[]) {
  await b.store.put({ id: `pending_${subId}`, object: "emulator_pending_items", lines } as never);
}

/** Moves the subscription to `price`: prorated per `behavior` ("always_invoice" bills now). */
export async function changePrice(b: Account, sub: Sub, price: Stripe.Price, behavior: string, at: number): Promise<Stripe.InvoiceLineItem[]> {
  const lines = behavior === "none" || sub.status === "trialing" ? [] : await prorationLines(b, sub, price, at);
  sub.items.data[0].price = price;
  sub.items.data[0].plan = legacyPlan(price);
  if (behavior === "create_prorations") await setPendingItems(b, sub.id, [...(await pendingItems(b, sub.id)), ...lines]);
  return behavior === "always_invoice" ? lines : [];
}

/**
 * What a request's `items` ask of the subscription: its licensed price (`{ id, price }` on the
 * licensed item) and the metered items it should hold (`{ id, price }` moves one in place,
 * `{ id, deleted: true }` removes one, `{ price }` adds one), checked as a whole like Stripe does
 * (one currency and interval). The local Stripe keeps one licensed item: it cannot be removed,
 * nor a second added.
 */
async function itemChange(b: Account, sub: Sub, raw: FormValue[]): Promise<{ licensed: Stripe.Price; metered: WantedItem[] }> {
  const [first] = sub.items.data;
  let licensed = first.price;
  let metered: WantedItem[] = meteredItems(sub).map((i) => ({ price: i.price, itemId: i.id }));
  for (const [i, entry] of raw.entries()) {
    const o = obj(entry);
    const itemId = str(o.id);
    const priceId = str(o.price) ?? str(o.plan);
    const item = itemId ? sub.items.data.find((x) => x.id === itemId) : undefined;
    if (itemId && !item) throw missing("subscription_item", itemId, `items[${i}][id]`);
    const price = priceId ? await b.price(priceId) : undefined;
    if (price && isMetered(price) && o.quantity !== undefined)
      throw invalid(`Quantity should not be specified where usage_type is \`metered\`. Remove quantity from \`items[${i}]\`.`, `items[${i}][quantity]`);
    if (bool(o.deleted)) {
      if (!item || item === first) throw unsupportedItem(`items[${i}][deleted]`, "removing the licensed item of a subscription");
      metered = metered.filter((w) => w.itemId !== item.id);
    } else if (item === first) {
      if (price && isMetered(price)) throw unsupportedItem(`items[${i}][price]`, "moving the licensed item to a metered price");
      if (price) licensed = price;
    } else if (item) {
      if (price && !isMetered(price)) throw unsupportedItem(`items[${i}][price]`, "moving a metered item to a licensed price");
      if (price) metered = metered.map((w) => (w.itemId === item.id ? { price, itemId: item.id } : w));
    } else {
      if (!price) throw invalid(`Missing required param: items[${i}][price].`, `items[${i}][price]`);
      if (!isMetered(price)) throw unsupportedItem(`items[${i}][price]`, "a second licensed item on a subscription");
      metered.push({ price });
    }
  }
  const prices = [licensed, ...metered.map((w) => w.price)];
  if (new Set(prices.map((x) => x.id)).size !== prices.length) throw invalid(`Cannot add multiple subscription items with the same plan.`, "items");
  checkItemSet(prices, "items");
  // The subscription itself holds the customer's currency: a price in another is refused too.
  await refuseOtherCurrency(b, sub.customer as string, licensed.currency, "items");
  return { licensed, metered };
}

export async function updateSubscription(b: Account, id: string, p: Params) {
  const sub = await subscription(b, id);
  if (sub.status === "canceled") throw invalid("A canceled subscription can only update its cancellation_details and metadata.");
  const now = await b.nowFor(sub.customer as string);
  const previous: Record<string, unknown> = {};
  if (p.metadata) {
    previous.metadata = sub.metadata;
    sub.metadata = { ...sub.metadata, ...meta(p.metadata) };
  }
  const cancel = bool(p.cancel_at_period_end);
  if (cancel !== undefined && cancel !== sub.cancel_at_period_end) {
    if (sub.schedule)
      throw invalid(
        `The subscription is managed by the subscription schedule \`${sub.schedule}\`, and updating any cancelation behavior directly is not allowed. Please update the schedule instead.`,
      );
    previous.cancel_at_period_end = sub.cancel_at_period_end;
    sub.cancel_at_period_end = cancel;
    sub.cancel_at = cancel ? sub.items.data[0].current_period_end : null;
  }
  const dpm = str(p.default_payment_method);
  if (dpm) {
    previous.default_payment_method = sub.default_payment_method;
    sub.default_payment_method = dpm;
  }
  let invoiceLines: Stripe.InvoiceLineItem[] = [];
  const endsTrial = str(p.trial_end) === "now" && sub.status === "trialing";
  const behavior = str(p.proration_behavior) ?? "create_prorations";
  const change = p.items === undefined ? null : await itemChange(b, sub, arr(p.items));
  const newPriceId = change?.licensed.id;
  let intervalChanged = false;
  if (change) previous.items = structuredClone(sub.items);
  // Metered items leave first: what they used so far is billed with this change.
  const closing = change ? await syncMeteredItems(b, sub, change.metered, now, sub.items.data[0].current_period_start) : [];
  if (newPriceId && newPriceId !== sub.items.data[0].price.id) {
    const newPrice = change.licensed;
    const at = int(p.proration_date) ?? now;
    const wasTrialing = sub.status === "trialing";
    const reset = await changeInterval(b, sub, newPrice, behavior, at, now);
    if (reset) {
      intervalChanged = true;
      if (wasTrialing) Object.assign(previous, { status: "trialing", trial_end: sub.trial_end });
      // Pending prorations go on the invoice the reset makes now.
      invoiceLines = [...(await pendingItems(b, sub.id)), ...closing, ...reset];
      await setPendingItems(b, sub.id, []);
    } else invoiceLines = await changePrice(b, sub, newPrice, behavior, at);
  }
  if (endsTrial && !intervalChanged) {
    // Ending a trial starts a paid period now, with a new anchor, billed in full.
    previous.status = sub.status;
    previous.trial_end = sub.trial_end;
    sub.trial_end = now;
    sub.billing_cycle_anchor = now;
    sub.status = "active";
    sub.items.data[0].current_period_start = now;
    const price = sub.items.data[0].price;
    sub.items.data[0].current_period_end = addMonths(now, monthsOf(price));
    invoiceLines = [
      line({
        amount: price.unit_amount ?? 0,
        description: `1 × ${await b.productName(price)}`,
        price,
        sub,
        start: now,
        end: addMonths(now, monthsOf(price)),
        proration: false,
      }),
    ];
  }
  if (intervalChanged || endsTrial) alignPeriods(sub);
  else for (const item of meteredItems(sub)) item.current_period_end = sub.items.data[0].current_period_end;
  // Usage of removed metered items not billed now waits for the next invoice.
  if (closing.length > 0 && !intervalChanged) {
    if (invoiceLines.length > 0) invoiceLines.push(...closing);
    else await setPendingItems(b, sub.id, [...(await pendingItems(b, sub.id)), ...closing]);
  }
  await b.store.put(sub);
  await b.events.emit("customer.subscription.updated", sub, now, previous);
  if (invoiceLines.length > 0) await createInvoice(b, sub, invoiceLines, "subscription_update", now);
  return subscription(b, id);
}

/** The next phase's price of an active schedule, when it starts at the end of the current period. */
async function scheduledPrice(b: Account, sub: Sub): Promise<Stripe.Price | null> {
  if (!sub.schedule) return null;
  const schedule = await b.store.get<Stripe.SubscriptionSchedule>(sub.schedule as string);
  const end = sub.items.data[0].current_period_end;
  const next = schedule?.status === "active" ? schedule.phases.find((ph) => ph.start_date === end) : undefined;
  return next ? b.price(next.items[0].price as string) : null;
}

export async function previewInvoice(b: Account, p: Params) {
  const subId = str(p.subscription);
  if (!subId) throw invalid("Missing required param: subscription.", "subscription");
  const sub = structuredClone(await subscription(b, subId));
  const details = obj(p.subscription_details);
  const behavior = str(details.proration_behavior) ?? "create_prorations";
  const now = await b.nowFor(sub.customer as string);
  const at = int(details.proration_date) ?? now;
  const item = sub.items.data[0];
  // The change asked for, applied to a copy: as the update would (metered items removed bill their usage so far).
  const change = details.items === undefined ? null : await itemChange(b, sub, arr(details.items));
  const newPriceId = change?.licensed.id;
  const closing = change ? await syncMeteredItems(b, sub, change.metered, now, item.current_period_start) : [];
  let lines: Stripe.InvoiceLineItem[] = [...(await pendingItems(b, sub.id))];
  let price = item.price;
  if (newPriceId && newPriceId !== item.price.id) {
    price = change.licensed;
    const reset = await changeInterval(b, sub, price, behavior, at, now);
    // Another interval is invoiced now, whatever the proration behavior (as the update does).
    if (reset) return buildInvoice(b, sub, [...lines, ...closing, ...reset], "subscription_update", now, { preview: true });
    if (behavior !== "none") lines.push(...(await prorationLines(b, sub, price, at)));
    item.price = price;
  }
  lines.push(...closing);
  if (behavior === "always_invoice") return buildInvoice(b, sub, lines, "subscription_update", now, { preview: true });
  // The upcoming invoice: pending prorations plus the next period's charge (at a scheduled price).
  if (!newPriceId) price = (await scheduledPrice(b, sub)) ?? price;
  const start = item.current_period_end;
  const end = periodAt(sub.billing_cycle_anchor, start, monthsOf(price)).end;
  // The usage of the current period so far, billed at its end (a trial's is not billed).
  lines = [...lines, ...(await renewalMeteredLines(b, sub, start, sub.status === "trialing"))];
  lines = [...lines, line({ amount: price.unit_amount ?? 0, description: `1 × ${await b.productName(price)}`, price, sub, start, end, proration: false })];
  return buildInvoice(b, sub, lines, "upcoming", start, { preview: true });
}

/** The period boundary: a new period, and its renewal invoice as a draft (finalized an hour later). */
export async function renew(b: Account, sub: Sub, boundary: number) {
  if (sub.cancel_at_period_end) return cancelNow(b, sub, boundary, "cancellation_requested");
  const item = sub.items.data[0];
  const previous = { status: sub.status, items: structuredClone(sub.items), trial_end: sub.trial_end };
  const end = periodAt(sub.billing_cycle_anchor, boundary, monthsOf(item.price)).end;
  // Metered usage is billed in arrears: the ending period's, before the items move on.
  const metered = await renewalMeteredLines(b, sub, boundary, sub.status === "trialing");
  item.current_period_start = boundary;
  item.current_period_end = end;
  alignPeriods(sub);
  if (sub.status === "trialing") sub.status = "active";
  const price = item.price;
  const lines = [
    ...(await pendingItems(b, sub.id)),
    ...metered,
    line({
      amount: price.unit_amount ?? 0,
      description: `1 × ${await b.productName(price)} (at ${pricePer(price)})`,
      price,
      sub,
      start: boundary,
      end,
      proration: false,
    }),
  ];
  await setPendingItems(b, sub.id, []);
  await b.store.put(sub);
  await b.events.emit("customer.subscription.updated", sub, boundary, previous);
  await createInvoice(b, sub, lines, "subscription_cycle", boundary);
}

/** An incomplete subscription whose first invoice went unpaid for 23 hours: terminal, invoice voided. */
export async function expireIncomplete(b: Account, sub: Sub, at: number) {
  const invoice = sub.latest_invoice ? await b.store.get<Stripe.Invoice>(sub.latest_invoice as string) : null;
  if (invoice?.status === "open") await voidInvoice(b, invoice, at);
  sub.status = "incomplete_expired";
  sub.ended_at = at;
  await b.store.put(sub);
  await b.events.emit("customer.subscription.deleted", sub, at);
}
