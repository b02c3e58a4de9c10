// Metered subscription items: a price with `recurring.usage_type=metered` billed in arrears from
// its billing meter. A subscription holds one licensed item (first, as the rest of the local
// Stripe expects) and any number of metered ones, all of one currency and interval, as Stripe
// requires. At each renewal, a metered item bills the meter's total for its customer over the
// item's period `[current_period_start, period end)` through its price (tiers.ts), a line per
// tier; the draft's lines are computed again when it is finalized an hour later, so usage reported
// late with a timestamp inside the period still counts, as in Stripe.
import type Stripe from "stripe";
import { type Account, invalid, legacyPlan, StripeError } from "./account";
import { type FormValue, obj, str } from "./form";
import { line } from "./invoice-lines";
import { meterTotal } from "./meters";
import { newId } from "./store";
import { decimalString, type PriceTiers, parseDecimal, roundCents, tierCharges, tiersKey } from "./tiers";

type Sub = Stripe.Subscription;
type Item = Stripe.SubscriptionItem;

export const isMetered = (price: Stripe.Price) => price.recurring?.usage_type === "metered";

/** A new subscription item for `price`; a metered one has no quantity (Stripe omits it). */
export function newItem(price: Stripe.Price, subId: string, start: number, end: number, created: number): Item {
  const item: Item = {
    id: newId("si"),
    object: "subscription_item",
    billing_thresholds: null,
    created,
    current_period_start: start,
    current_period_end: end,
    current_trial: null,
    discounts: [],
    metadata: {},
    plan: legacyPlan(price),
    price,
    quantity: 1,
    subscription: subId,
    tax_rates: [],
  };
  if (isMetered(price)) delete item.quantity;
  return item;
}

/**
 * The prices of a request's items (`items`, `line_items`, a phase's `items`), checked as Stripe
 * checks them: a metered price takes no quantity, no price twice, one currency and one interval
 * across them. The local Stripe also needs exactly one licensed price among them (it bills flat
 * prices on the first item only); it answers them licensed first.
 */
export async function itemPrices(b: Account, raw: FormValue[], param: string): Promise<Stripe.Price[]> {
  const prices: Stripe.Price[] = [];
  for (const [i, entry] of raw.entries()) {
    const o = obj(entry);
    const id = str(o.price) ?? str(o.plan);
    if (!id) throw invalid(`Missing required param: ${param}[${i}][price].`, `${param}[${i}][price]`);
    const price = await b.price(id);
    if (isMetered(price) && o.quantity !== undefined)
      throw invalid(`Quantity should not be specified where usage_type is \`metered\`. Remove quantity from \`${param}[${i}]\`.`, `${param}[${i}][quantity]`);
    if (prices.some((p) => p.id === price.id)) throw invalid(`Cannot add multiple subscription items with the same plan: ${price.id}`, param);
    prices.push(price);
  }
  checkItemSet(prices, param);
  return [...prices.filter((p) => !isMetered(p)), ...prices.filter(isMetered)];
}

/** One currency and one interval across a subscription's prices; one licensed price (the local Stripe's limit). */
export function checkItemSet(prices: Stripe.Price[], param: string) {
  const [first] = prices;
  for (const p of prices) {
    if (p.currency !== first.currency) throw invalid("All prices on a subscription must have the same `currency`.", param);
    if (p.recurring?.interval !== first.recurring?.interval || p.recurring?.interval_count !== first.recurring?.interval_count)
      throw invalid("Currency and interval fields must match across all plans on this subscription. Found mismatch in interval field.", param);
  }
  if (prices.filter((p) => !isMetered(p)).length !== 1)
    throw invalid("The local Stripe bills subscriptions with exactly one licensed (flat) price, beside any metered ones.", param);
}

/** The metered items of a subscription (every item but the licensed first). */
export const meteredItems = (sub: Sub): Item[] => sub.items.data.filter((i) => isMetered(i.price));

/** A scaled amount (10^-12 cents) in dollars, exact: "$0.0005", "$0.00", "$1.50". */
function unitMoney(scaled: bigint): string {
  const DOLLAR = 10n ** 14n;
  const fraction = (scaled % DOLLAR).toString().padStart(14, "0").replace(/0+$/, "").padEnd(2, "0");
  return `$${scaled / DOLLAR}.${fraction}`;
}

/**
 * The lines that bill a metered item's usage over `[start, end)`: the meter's total for the
 * customer through the price's tiers (or its unit amount), each line rounded to the cent, half up.
 */
export async function meteredLines(b: Account, sub: Sub, item: Item, start: number, end: number): Promise<Stripe.InvoiceLineItem[]> {
  const price = item.price;
  const meter = price.recurring?.meter;
  if (!meter || end <= start) return [];
  const total = Math.max(0, await meterTotal(b, meter, sub.customer as string, start, end));
  const name = await b.productName(price);
  const per = price.recurring?.interval ?? "month";
  const tiers = await b.store.get<PriceTiers>(tiersKey(price.id));
  const unit = parseDecimal(String(price.unit_amount_decimal ?? "0"), "unit_amount_decimal");
  const charges = tiers ? tierCharges(tiers, total) : [{ tier: 0, quantity: total, unit, amount: roundCents(BigInt(total) * unit) }];
  return charges.map((c) => {
    const l = line({
      amount: c.amount,
      description: c.tier ? `${name} (Tier ${c.tier} at ${unitMoney(c.unit)} / ${per})` : `${c.quantity} × ${name} (at ${unitMoney(c.unit)} / ${per})`,
      price,
      sub,
      item,
      start,
      end,
      proration: false,
    });
    l.quantity = c.quantity;
    l.quantity_decimal = String(c.quantity) as unknown as Stripe.Decimal;
    if (l.pricing) l.pricing.unit_amount_decimal = decimalString(c.unit) as unknown as Stripe.Decimal;
    return l;
  });
}

/** The renewal's metered lines: each metered item's usage over its ending period (none for a period spent trialing). */
export async function renewalMeteredLines(b: Account, sub: Sub, boundary: number, trialing: boolean): Promise<Stripe.InvoiceLineItem[]> {
  if (trialing) return [];
  const lines: Stripe.InvoiceLineItem[] = [];
  for (const item of meteredItems(sub)) lines.push(...(await meteredLines(b, sub, item, item.current_period_start, boundary)));
  return lines;
}

/** Whether an invoice line bills a metered price (its usage can still change while the invoice is a draft). */
async function isMeteredLine(b: Account, l: Stripe.InvoiceLineItem): Promise<boolean> {
  const priceId = l.pricing?.price_details?.price;
  const price = typeof priceId === "string" ? await b.store.get<Stripe.Price>(priceId) : null;
  return Boolean(price && isMetered(price));
}

/**
 * Computes a draft's metered lines again from the meter (at finalization: usage reported during
 * the draft hour with a timestamp in the period counts), and its totals with them.
 */
export async function refreshMeteredLines(b: Account, invoice: Stripe.Invoice, sub: Sub | null): Promise<void> {
  if (!sub) return;
  const kept: Stripe.InvoiceLineItem[] = [];
  const redo = new Map<string, { item: Item; start: number; end: number }>();
  for (const l of invoice.lines.data) {
    if (!(await isMeteredLine(b, l))) {
      kept.push(l);
      continue;
    }
    const itemId = l.parent?.subscription_item_details?.subscription_item ?? "";
    const item = sub.items.data.find((i) => i.id === itemId);
    // An item removed since keeps the lines it was billed with.
    if (!item) kept.push(l);
    else redo.set(`${itemId}:${l.period.start}`, { item, start: l.period.start, end: l.period.end });
  }
  if (redo.size === 0) return;
  const lines = [...kept];
  for (const { item, start, end } of redo.values()) {
    // The line is billed at the price it was made with; the item's price may have moved on since.
    const billed = invoice.lines.data.find((l) => l.parent?.subscription_item_details?.subscription_item === item.id);
    const priceId = billed?.pricing?.price_details?.price as string;
    const asBilled = { ...item, price: priceId === item.price.id ? item.price : await b.price(priceId) };
    lines.push(...(await meteredLines(b, sub, asBilled, start, end)).map((l) => ({ ...l, invoice: invoice.id })));
  }
  const total = lines.reduce((s, l) => s + l.amount, 0);
  invoice.lines.data = lines;
  Object.assign(invoice, {
    subtotal: total,
    subtotal_excluding_tax: total,
    total,
    total_excluding_tax: total,
    amount_due: Math.max(0, total),
    amount_remaining: Math.max(0, total),
  });
}

/** A metered price the subscription should hold, and the item it moves in place (`{ id, price }` in a request). */
export type WantedItem = { price: Stripe.Price; itemId?: string };

/**
 * Brings the subscription's metered items to `wanted` at `at`: an item named by id moves to its
 * new price in place (its whole period then bills at the new price); an unnamed price an item
 * already has keeps that item; any other item is removed and its usage so far billed (the lines
 * answered); a new price gets a new item starting at `start` (the current period's start
 * mid-period, so the period's whole usage is billed through it; the boundary at a phase change).
 */
export async function syncMeteredItems(b: Account, sub: Sub, wanted: WantedItem[], at: number, start: number): Promise<Stripe.InvoiceLineItem[]> {
  const closing: Stripe.InvoiceLineItem[] = [];
  const licensed = sub.items.data[0];
  const kept: Item[] = [];
  const named = new Set(wanted.map((w) => w.itemId).filter(Boolean));
  for (const item of meteredItems(sub)) {
    const target = wanted.find((w) => w.itemId === item.id) ?? (named.has(item.id) ? undefined : wanted.find((w) => !w.itemId && w.price.id === item.price.id));
    if (target && !kept.some((k) => k.price.id === target.price.id)) {
      item.price = target.price;
      item.plan = legacyPlan(target.price);
      kept.push(item);
    } else {
      // Everything reported so far dated in the item's period: meter events carry real time,
      // which runs ahead of a test clock's frozen "now" (the window would miss them otherwise).
      closing.push(...(await meteredLines(b, sub, item, item.current_period_start, Math.max(at, item.current_period_end))));
    }
  }
  for (const { price } of wanted) {
    if (kept.some((k) => k.price.id === price.id)) continue;
    kept.push(newItem(price, sub.id, start, licensed.current_period_end, at));
  }
  sub.items.data = [licensed, ...kept];
  return closing;
}

/** Every item follows the licensed item's period (a new period after a renewal, a reset or a trial's end). */
export function alignPeriods(sub: Sub) {
  const [licensed, ...rest] = sub.items.data;
  for (const item of rest) {
    item.current_period_start = licensed.current_period_start;
    item.current_period_end = licensed.current_period_end;
  }
}

/** A refused item change the local Stripe does not model. */
export const unsupportedItem = (param: string, what: string) =>
  new StripeError(400, "invalid_request_error", `The local Stripe does not support ${what}.`, { param });
