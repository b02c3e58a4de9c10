// Subscriptions, invoices, payments, proration and test clocks, with Stripe's arithmetic:
// monthly periods from the billing cycle anchor (day clamped to the month's end), proration per
// second of the period with each line rounded separately, periods on subscription items.
import type Stripe from "stripe";
import type { Events } from "./events";
import { newId, type Store } from "./store";

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
  new StripeError(404, "invalid_request_error", `No such ${what}: '${id}'`, { code: "resource_missing", param });
export const invalid = (message: string, param?: string) => new StripeError(400, "invalid_request_error", message, param ? { param } : {});

/** `anchor` + n months, the day clamped to the target month's last day (Jan 31 → Feb 28 → Mar 31). */
export function addMonths(anchor: number, n: number): number {
  const d = new Date(anchor * 1000);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + n;
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Math.floor(Date.UTC(y, m, Math.min(d.getUTCDate(), last), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()) / 1000);
}

/** The period containing `at` for a monthly subscription anchored at `anchor`. */
export function periodAt(anchor: number, at: number): { start: number; end: number } {
  let n = 0;
  while (addMonths(anchor, n + 1) <= at) n++;
  return { start: addMonths(anchor, n), end: addMonths(anchor, n + 1) };
}

export const DECLINE_CARDS = new Set(["pm_card_chargeDeclined", "4000000000000002"]);

type Sub = Stripe.Subscription;
type Inv = Stripe.Invoice;

export class Billing {
  constructor(
    readonly store: Store,
    readonly events: Events,
    readonly publicUrl: string,
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

  async paymentMethodDeclines(pmId: string | null): Promise<boolean> {
    if (!pmId) return true;
    const pm = await this.store.get<Stripe.PaymentMethod & { _declines?: boolean }>(pmId);
    return !pm || pm.card?.last4 === "0002";
  }

  // ---- invoices --------------------------------------------------------------------------

  line(input: { amount: number; description: string; price: Stripe.Price; sub: Sub; start: number; end: number; proration: boolean }): Stripe.InvoiceLineItem {
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
          subscription_item: input.sub.items.data[0].id,
        },
      },
      period: { start: input.start, end: input.end },
      pretax_credit_amounts: [],
      pricing: {
        type: "price_details",
        price_details: { price: input.price.id, product: input.price.product as string },
        unit_amount_decimal: wireDecimal(input.price.unit_amount ?? 0),
      },
      quantity: 1,
      quantity_decimal: wireDecimal(1),
      subscription: input.sub.id,
      subtotal: input.amount,
      taxes: [],
    };
  }

  async buildInvoice(
    sub: Sub,
    lines: Stripe.InvoiceLineItem[],
    reason: Stripe.Invoice.BillingReason,
    now: number,
    opts: { preview?: boolean } = {},
  ): Promise<Inv> {
    const customer = await this.store.get<Stripe.Customer>(sub.customer as string);
    const id = opts.preview ? newId("upcoming_in") : newId("in");
    const total = lines.reduce((s, l) => s + l.amount, 0);
    const seq = opts.preview ? 0 : await this.store.next(`invoice_number:${sub.customer}`);
    const prefix = (sub.customer as string).slice(4, 12).toUpperCase();
    const invoice: Inv = {
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
      customer: sub.customer as string,
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
      effective_at: opts.preview ? null : now,
      ending_balance: opts.preview ? null : 0,
      footer: null,
      from_invoice: null,
      hosted_invoice_url: opts.preview ? null : `${this.publicUrl}/invoice/${id}`,
      invoice_pdf: opts.preview ? null : `${this.publicUrl}/invoice/${id}/pdf`,
      issuer: { type: "self" },
      last_finalization_error: null,
      latest_revision: null,
      lines: { object: "list", data: lines.map((l) => ({ ...l, invoice: id })), has_more: false, url: `/v1/invoices/${id}/lines` },
      livemode: false,
      metadata: {},
      next_payment_attempt: null,
      number: opts.preview ? null : `${prefix}-${String(seq).padStart(4, "0")}`,
      on_behalf_of: null,
      parent: { type: "subscription_details", quote_details: null, subscription_details: { metadata: sub.metadata, subscription: sub.id } },
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
    return invoice;
  }

  /** Creates, finalizes and charges an invoice, emitting Stripe's events in Stripe's order. */
  async issueInvoice(sub: Sub, lines: Stripe.InvoiceLineItem[], reason: Stripe.Invoice.BillingReason, now: number): Promise<{ invoice: Inv; paid: boolean }> {
    const invoice = await this.buildInvoice(sub, lines, reason, now);
    await this.store.put(invoice);
    await this.events.emit("invoice.created", invoice, now);
    invoice.status = "open";
    invoice.status_transitions.finalized_at = now;
    await this.store.put(invoice);
    await this.events.emit("invoice.finalized", invoice, now, { status: "draft" });
    const paid = invoice.amount_due === 0 || !(await this.paymentMethodDeclines(sub.default_payment_method as string | null));
    invoice.attempt_count = invoice.amount_due === 0 ? 0 : 1;
    invoice.attempted = invoice.amount_due > 0;
    if (paid) {
      invoice.status = "paid";
      invoice.amount_paid = invoice.amount_due;
      invoice.amount_remaining = 0;
      invoice.status_transitions.paid_at = now;
      await this.store.put(invoice);
      await this.events.emit("invoice.paid", invoice, now, { status: "open" });
      await this.events.emit("invoice.payment_succeeded", invoice, now);
    } else {
      await this.store.put(invoice);
      await this.events.emit("invoice.payment_failed", invoice, now);
    }
    return { invoice, paid };
  }

  // ---- subscriptions ---------------------------------------------------------------------

  async createSubscription(input: {
    customer: string;
    price: string;
    trialDays?: number;
    trialEnd?: number;
    paymentMethod?: string | null;
    paymentBehavior?: string;
    metadata?: Record<string, string>;
  }): Promise<Sub> {
    const customer = await this.store.get<Stripe.Customer>(input.customer);
    if (!customer) throw missing("customer", input.customer, "customer");
    const price = await this.price(input.price);
    const now = await this.nowFor(input.customer);
    const pm = input.paymentMethod ?? (customer.invoice_settings?.default_payment_method as string | null) ?? null;
    const trialEnd = input.trialEnd ?? (input.trialDays ? now + input.trialDays * 86_400 : null);
    const anchor = trialEnd ?? now;
    const periodEnd = trialEnd ?? addMonths(now, 1);
    const sub: Sub = {
      id: newId("sub"),
      object: "subscription",
      application: null,
      application_fee_percent: null,
      automatic_tax: { enabled: false, disabled_reason: null, liability: null },
      billing_cycle_anchor: anchor,
      billing_cycle_anchor_config: null,
      billing_schedules: [],
      billing_mode: { type: "classic", flexible: null },
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
        data: [
          {
            id: newId("si"),
            object: "subscription_item",
            billing_thresholds: null,
            created: now,
            current_period_start: now,
            current_period_end: periodEnd,
            current_trial: null,
            discounts: [],
            metadata: {},
            plan: legacyPlan(price),
            price,
            quantity: 1,
            subscription: "",
            tax_rates: [],
          },
        ],
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
    sub.items.data[0].subscription = sub.id;
    const lines = [
      this.line({
        amount: trialEnd ? 0 : (price.unit_amount ?? 0),
        description: trialEnd ? `Trial period for ${await this.productName(price)}` : `1 × ${await this.productName(price)} (at ${money(price)} / month)`,
        price,
        sub,
        start: now,
        end: periodEnd,
        proration: false,
      }),
    ];
    if (!trialEnd && !pm && input.paymentBehavior === "error_if_incomplete")
      throw new StripeError(402, "card_error", "This customer has no attached payment source or default payment method.", { code: "resource_missing" });
    await this.store.put(sub);
    await this.events.emit("customer.subscription.created", sub, now);
    const { invoice, paid } = await this.issueInvoice(sub, lines, "subscription_create", now);
    sub.latest_invoice = invoice.id;
    if (!trialEnd) {
      if (!paid && input.paymentBehavior === "error_if_incomplete") {
        sub.status = "incomplete_expired";
        await this.store.put(sub);
        throw new StripeError(402, "card_error", "Your card was declined.", { code: "card_declined", decline_code: "generic_decline" });
      }
      const previous = { status: sub.status };
      sub.status = paid ? "active" : "incomplete";
      await this.store.put(sub);
      if (paid) await this.events.emit("customer.subscription.updated", sub, now, previous);
    } else {
      await this.store.put(sub);
    }
    return sub;
  }

  async productName(price: Stripe.Price): Promise<string> {
    const product = await this.store.get<Stripe.Product>(price.product as string);
    return product?.name ?? "Subscription";
  }

  /** Proration lines for moving `sub` to `newPrice` at `at`, exactly as Stripe computes them. */
  async prorationLines(sub: Sub, newPrice: Stripe.Price, at: number): Promise<Stripe.InvoiceLineItem[]> {
    const item = sub.items.data[0];
    const { current_period_start: s, current_period_end: e } = item;
    if (at < s || at > e) throw invalid("proration_date must be within the current period", "proration_date");
    const fraction = (e - at) / (e - s);
    const old = item.price;
    const when = new Date(at * 1000).toUTCString().slice(5, 16);
    return [
      this.line({
        amount: -Math.round((old.unit_amount ?? 0) * fraction),
        description: `Unused time on ${await this.productName(old)} after ${when}`,
        price: old,
        sub,
        start: at,
        end: e,
        proration: true,
      }),
      this.line({
        amount: Math.round((newPrice.unit_amount ?? 0) * fraction),
        description: `Remaining time on ${await this.productName(newPrice)} after ${when}`,
        price: newPrice,
        sub,
        start: at,
        end: e,
        proration: true,
      }),
    ];
  }

  /** Pending proration items (create_prorations) wait here for the next renewal invoice. */
  async pendingItems(subId: string): Promise<Stripe.InvoiceLineItem[]> {
    const holder = await this.store.get<{ id: string; object: string; lines: Stripe.InvoiceLineItem[] }>(`pending_${subId}`);
    return holder?.lines ?? [];
  }

  async setPendingItems(subId: string, lines: Stripe.InvoiceLineItem[]) {
    await this.store.put({ id: `pending_${subId}`, object: "emulator_pending_items", lines } as never);
  }

  /** Renews (or ends the trial of, or cancels) every period of `sub` that ends at or before `until`. */
  async rollForward(sub: Sub, until: number): Promise<Sub> {
    for (;;) {
      const item = sub.items.data[0];
      const boundary = item.current_period_end;
      if (boundary > until || ["canceled", "incomplete_expired", "incomplete"].includes(sub.status)) return sub;
      if (sub.cancel_at_period_end) return this.cancelNow(sub, boundary);
      const previous = { status: sub.status, items: structuredClone(sub.items), trial_end: sub.trial_end };
      const start = boundary;
      const end = periodAt(sub.billing_cycle_anchor, start).end;
      item.current_period_start = start;
      item.current_period_end = end;
      const price = item.price;
      const lines = [
        ...(await this.pendingItems(sub.id)),
        this.line({
          amount: price.unit_amount ?? 0,
          description: `1 × ${await this.productName(price)} (at ${money(price)} / month)`,
          price,
          sub,
          start,
          end,
          proration: false,
        }),
      ];
      await this.setPendingItems(sub.id, []);
      sub.status = "active";
      await this.store.put(sub);
      await this.events.emit("customer.subscription.updated", sub, boundary, previous);
      const { invoice, paid } = await this.issueInvoice(sub, lines, "subscription_cycle", boundary);
      sub.latest_invoice = invoice.id;
      if (!paid) {
        sub.status = "past_due";
        await this.store.put(sub);
        await this.events.emit("customer.subscription.updated", sub, boundary, { status: "active" });
      } else {
        await this.store.put(sub);
      }
    }
  }

  /** Ends the subscription at `at` with customer.subscription.deleted. */
  async cancelNow(sub: Sub, at: number): Promise<Sub> {
    sub.status = "canceled";
    sub.canceled_at = at;
    sub.ended_at = at;
    await this.store.put(sub);
    await this.events.emit("customer.subscription.deleted", sub, at);
    return sub;
  }

  async advanceClock(clockId: string, to: number) {
    const clock = await this.store.get<Stripe.TestHelpers.TestClock>(clockId);
    if (!clock) throw missing("test_helpers.test_clock", clockId);
    if (to <= clock.frozen_time) throw invalid("The frozen_time must be after the current frozen_time.", "frozen_time");
    clock.status = "advancing";
    await this.store.put(clock);
    await this.events.emit("test_helpers.test_clock.advancing", clock, clock.frozen_time);
    const customers = await this.store.list<Stripe.Customer>("customer", (c) => c.test_clock === clockId);
    const ids = new Set(customers.map((c) => c.id));
    // Everything due on this clock, in time order.
    for (;;) {
      const subs = (
        await this.store.list<Sub>("subscription", (s) => ids.has(s.customer as string) && !["canceled", "incomplete_expired", "incomplete"].includes(s.status))
      )
        .filter((s) => s.items.data[0].current_period_end <= to)
        .sort((a, b) => a.items.data[0].current_period_end - b.items.data[0].current_period_end);
      if (subs.length === 0) break;
      const next = subs[0];
      clock.frozen_time = next.items.data[0].current_period_end;
      await this.store.put(clock);
      await this.rollForward(next, next.items.data[0].current_period_end);
    }
    clock.frozen_time = to;
    clock.status = "ready";
    await this.store.put(clock);
    await this.events.emit("test_helpers.test_clock.ready", clock, to);
    return clock;
  }
}

/** On the wire Stripe sends decimals as strings; the SDK's type for them is its Decimal. */
export const wireDecimal = (n: number) => String(n) as unknown as Stripe.Decimal;

/** The deprecated `plan` view of a price that subscription items still carry. */
function legacyPlan(price: Stripe.Price): Stripe.Plan {
  return {
    id: price.id,
    object: "plan",
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount === null ? null : wireDecimal(price.unit_amount),
    billing_scheme: "per_unit",
    created: price.created,
    currency: price.currency,
    interval: price.recurring?.interval ?? "month",
    interval_count: price.recurring?.interval_count ?? 1,
    livemode: false,
    metadata: price.metadata,
    meter: null,
    nickname: price.nickname,
    product: price.product as string,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: "licensed",
  };
}

export const money = (price: Stripe.Price) => `$${((price.unit_amount ?? 0) / 100).toFixed(2)}`;
