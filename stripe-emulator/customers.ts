// Customers and payment methods: create (optionally on a test clock, with a card), update,
// retrieve, attach a card (the test tokens that decline or fail every charge included).
import type Stripe from "stripe";
import { type Account, cardDeclined, DECLINED_AT_ATTACH, FAILING_LAST4, FAILS_EVERY_CHARGE, invalid, missing } from "./account";
import { meta, obj, str } from "./form";
import { email, metadata, object, string } from "./params";
import type { Route } from "./route";
import { newId } from "./store";

/** Sets obj[key], remembering the old value for the event's previous_attributes. */
function change<T extends object, K extends keyof T>(obj: T, previous: Record<string, unknown>, key: K, value: T[K]) {
  previous[key as string] = obj[key];
  obj[key] = value;
}

/** A customer that can take a change or a new object: a deleted one is refused as missing, as in Stripe. */
export async function customerOf(b: Account, id: string, param = "id") {
  const c = await b.store.get<Stripe.Customer | Stripe.DeletedCustomer>(id);
  if (!c || c.deleted) throw missing("customer", id, param);
  return c;
}

const ENDED: readonly Stripe.Subscription.Status[] = ["canceled", "incomplete_expired"];

/**
 * Refuses to bill a customer in `currency` when it is already billed in another, as Stripe
 * does: a customer has one currency while it has a live subscription (its schedule follows it)
 * or invoice items on a draft invoice.
 */
export async function refuseOtherCurrency(b: Account, customerId: string, currency: string, param: string) {
  const subs = await b.store.ofCustomer<Stripe.Subscription>("subscription", customerId);
  const drafts = await b.store.ofCustomer<Stripe.Invoice>("invoice", customerId);
  const held = subs.find((s) => !ENDED.includes(s.status))?.currency ?? drafts.find((i) => i.status === "draft" && i.lines.data.length > 0)?.currency;
  if (held && held !== currency)
    throw invalid(
      `You cannot combine currencies on a single customer. This customer has an active subscription, subscription schedule, discount, quote, or invoice item with currency ${held}.`,
      param,
    );
}

/** Attaches a saved method or a test token; 4000 0000 0000 0002 is declined here, as in Stripe. */
export async function attachPaymentMethod(b: Account, token: string, customerId: string) {
  if (DECLINED_AT_ATTACH.has(token)) throw cardDeclined();
  const fails = FAILS_EVERY_CHARGE.has(token);
  if (token !== "pm_card_visa" && !fails && !(await b.store.get(token))) throw missing("payment_method", token);
  const existing = token.startsWith("pm_card_") ? null : await b.store.get<Stripe.PaymentMethod>(token);
  const now = await b.nowFor(customerId);
  const pm = (existing ?? {
    id: newId("pm"),
    object: "payment_method",
    allow_redisplay: "unspecified",
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    card: {
      brand: "visa",
      checks: null,
      country: "US",
      display_brand: "visa",
      exp_month: 12,
      exp_year: 2034,
      fingerprint: fails ? "chargeFail0341" : "visa4242",
      funding: "credit",
      last4: fails ? FAILING_LAST4 : "4242",
      networks: null,
      three_d_secure_usage: null,
      wallet: null,
      generated_from: null,
      regulated_status: null,
    },
    created: now,
    customer: null,
    customer_account: null,
    livemode: false,
    metadata: {},
    type: "card",
  }) as Stripe.PaymentMethod;
  pm.customer = customerId;
  await b.store.put(pm);
  await b.events.emit("payment_method.attached", pm, now);
  return pm;
}

export const customerRoutes: Route[] = [
  [
    "POST",
    /^\/v1\/customers$/,
    { email, name: string, metadata, test_clock: string, payment_method: string, invoice_settings: object({ default_payment_method: string }) },
    async (b, p) => {
      const clock = str(p.test_clock) ?? null;
      if (clock && !(await b.store.get(clock))) throw missing("test_helpers.test_clock", clock, "test_clock");
      const now = clock ? (await b.store.get<Stripe.TestHelpers.TestClock>(clock))!.frozen_time : Math.floor(Date.now() / 1000);
      const c: Stripe.Customer = {
        id: newId("cus"),
        object: "customer",
        address: null,
        balance: 0,
        created: now,
        currency: null,
        default_source: null,
        delinquent: false,
        description: null,
        discount: null,
        email: str(p.email) ?? null,
        invoice_prefix: newId("x").slice(2, 10).toUpperCase(),
        invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
        livemode: false,
        metadata: meta(p.metadata),
        name: str(p.name) ?? null,
        next_invoice_sequence: 1,
        phone: null,
        preferred_locales: [],
        shipping: null,
        tax_exempt: "none",
        test_clock: clock,
      };
      await b.store.put(c);
      await b.events.emit("customer.created", c, now);
      const pm = str(p.payment_method);
      if (pm) {
        const attached = await attachPaymentMethod(b, pm, c.id);
        const wantsDefault = str(obj(p.invoice_settings).default_payment_method);
        if (wantsDefault) c.invoice_settings.default_payment_method = attached.id as never;
        await b.store.put(c);
      }
      return c;
    },
  ],
  // A deleted customer is still answered, as `{ id, object, deleted: true }`.
  ["GET", /^\/v1\/customers\/([^/]+)$/, {}, async (b, _p, [id]) => (await b.store.get(id)) ?? Promise.reject(missing("customer", id))],
  [
    "POST",
    /^\/v1\/customers\/([^/]+)$/,
    { email, name: string, metadata, invoice_settings: object({ default_payment_method: string }) },
    async (b, p, [id]) => {
      const c = await customerOf(b, id);
      const previous: Record<string, unknown> = {};
      if (str(p.email) !== undefined) change(c, previous, "email", str(p.email)!);
      if (str(p.name) !== undefined) change(c, previous, "name", str(p.name)!);
      if (p.metadata) change(c, previous, "metadata", { ...c.metadata, ...meta(p.metadata) });
      const dpm = str(obj(p.invoice_settings).default_payment_method);
      if (dpm !== undefined) {
        const pm = await b.store.get<Stripe.PaymentMethod>(dpm);
        if (!pm || pm.customer !== id)
          throw invalid(`The customer does not have a payment method with the ID ${dpm}.`, "invoice_settings[default_payment_method]");
        previous.invoice_settings = { ...c.invoice_settings };
        c.invoice_settings.default_payment_method = dpm;
      }
      await b.store.put(c);
      await b.events.emit("customer.updated", c, await b.nowFor(id), previous);
      return c;
    },
  ],
  [
    "POST",
    /^\/v1\/payment_methods\/([^/]+)\/attach$/,
    { customer: string },
    async (b, p, [id]) => attachPaymentMethod(b, id, (await customerOf(b, str(p.customer) ?? "", "customer")).id),
  ],
  ["GET", /^\/v1\/payment_methods\/([^/]+)$/, {}, async (b, _p, [id]) => (await b.store.get(id)) ?? Promise.reject(missing("payment_method", id))],
];
