// The emulated Stripe account (`Account`: its store, events, dunning settings and "now" per
// customer) and what every resource shares: Stripe's errors, monthly period arithmetic, the test
// cards. Resources live beside it: invoices.ts, subscriptions.ts, schedules.ts, clock.ts.
import type Stripe from "stripe";
import type { Events } from "./events";
import type { Store } from "./store";

export class StripeError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
export const missing = (what: string, id: string, param = "id") =>
  new StripeError(404, "invalid_request_error", `No such ${what}: '${id}'`, {
    code: "resource_missing",
    param,
    doc_url: "https://stripe.com/docs/error-codes/resource-missing",
  });
export const invalid = (message: string, param?: string) => new StripeError(400, "invalid_request_error", message, param ? { param } : {});
export const cardDeclined = () =>
  new StripeError(402, "card_error", "Your card was declined.", { code: "card_declined", decline_code: "generic_decline", param: "" });

/** `anchor` + n months, the day clamped to the target month's last day (Jan 31 → Feb 28 → Mar 31). */
export function addMonths(anchor: number, n: number): number {
  const d = new Date(anchor * 1000);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + n;
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Math.floor(Date.UTC(y, m, Math.min(d.getUTCDate(), last), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()) / 1000);
}

/** Months in one billing period of a price (monthly or yearly; the local Stripe bills no other). */
export const monthsOf = (price: Stripe.Price) => (price.recurring?.interval === "year" ? 12 : 1) * (price.recurring?.interval_count ?? 1);

/** The period containing `at` for a subscription anchored at `anchor`, its periods `months` long. */
export function periodAt(anchor: number, at: number, months = 1): { start: number; end: number } {
  let n = 0;
  while (addMonths(anchor, (n + 1) * months) <= at) n++;
  return { start: addMonths(anchor, n * months), end: addMonths(anchor, (n + 1) * months) };
}

/** Test cards, as Stripe treats them: declined when attached, or attached and then failing every charge. */
export const DECLINED_AT_ATTACH = new Set(["pm_card_chargeDeclined", "4000000000000002"]);
export const FAILS_EVERY_CHARGE = new Set(["pm_card_chargeCustomerFail", "4000000000000341"]);
export const FAILING_LAST4 = "0341";
/** Whether a charge on a card number entered on a hosted page succeeds (the declined and the failing test cards do not). */
export const cardCharges = (card: string) => !DECLINED_AT_ATTACH.has(card) && !FAILS_EVERY_CHARGE.has(card);

/**
 * The account's "manage failed payments" settings: retries at these days after the first
 * failed attempt, then the subscription is canceled or marked unpaid.
 */
export type Dunning = { retryDays: number[]; finalAction: "cancel" | "unpaid" };
export const DEFAULT_DUNNING: Dunning = { retryDays: [3, 5, 7], finalAction: "cancel" };

/** A renewal invoice stays a draft this long before it is finalized and charged. */
export const DRAFT_SECONDS = 3600;
/** An incomplete subscription whose first invoice is not paid within this becomes incomplete_expired. */
export const INCOMPLETE_SECONDS = 23 * 3600;

export class Account {
  constructor(
    readonly store: Store,
    readonly events: Events,
    readonly publicUrl: string,
    public dunning: Dunning = DEFAULT_DUNNING,
  ) {}

  /** "Now" for a customer: its test clock's frozen time, or the wall clock. */
  async nowFor(customerId: string | null): Promise<number> {
    if (customerId) {
      const customer = await this.store.get<Stripe.Customer>(customerId);
      const clockId = customer?.test_clock as string | null | undefined;
      if (clockId) {
        const clock = await this.store.get<Stripe.TestHelpers.TestClock>(clockId);
        if (clock) return clock.frozen_time;
      }
    }
    return Math.floor(Date.now() / 1000);
  }

  async price(id: string): Promise<Stripe.Price> {
    const p = await this.store.get<Stripe.Price>(id);
    if (!p) throw missing("price", id, "price");
    return p;
  }

  async productName(price: Stripe.Price): Promise<string> {
    const product = await this.store.get<Stripe.Product>(price.product as string);
    return product?.name ?? "Subscription";
  }

  /** Whether a charge on this payment method succeeds (no method, or a failing test card, fails). */
  async chargeSucceeds(pmId: string | null): Promise<boolean> {
    if (!pmId) return false;
    const pm = await this.store.get<Stripe.PaymentMethod>(pmId);
    return Boolean(pm) && pm!.card?.last4 !== FAILING_LAST4;
  }
}

/** On the wire Stripe sends decimals as strings; the SDK's type for them is its Decimal. */
export const wireDecimal = (n: number) => String(n) as unknown as Stripe.Decimal;

/** The deprecated `plan` view of a price that subscription items still carry. */
export function legacyPlan(price: Stripe.Price): Stripe.Plan {
  return {
    id: price.id,
    object: "plan",
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: price.billing_scheme,
    created: price.created,
    currency: price.currency,
    interval: price.recurring?.interval ?? "month",
    interval_count: price.recurring?.interval_count ?? 1,
    livemode: false,
    metadata: price.metadata,
    meter: price.recurring?.meter ?? null,
    nickname: price.nickname,
    product: price.product as string,
    tiers_mode: price.tiers_mode,
    transform_usage: null,
    trial_period_days: null,
    usage_type: price.recurring?.usage_type ?? "licensed",
  };
}

export const money = (price: Stripe.Price) => `$${((price.unit_amount ?? 0) / 100).toFixed(2)}`;
/** "$29.00 / month", "$290.00 / year": how Stripe's line descriptions name a price. */
export const pricePer = (price: Stripe.Price) => `${money(price)} / ${price.recurring?.interval ?? "month"}`;
