// The /v1 REST endpoints this system uses, with Stripe's shapes: lists, expand, errors.
import type Stripe from "stripe";
import { type Billing, cardDeclined, DECLINED_AT_ATTACH, FAILING_LAST4, FAILS_EVERY_CHARGE, invalid, missing, StripeError, wireDecimal } from "./billing";
import { advanceClock } from "./clock";
import { arr, bool, int, meta, obj, str, type FormValue } from "./form";
import { meterRoutes } from "./meters";
import { scheduleRoutes } from "./schedules";
import { newId } from "./store";
import { cancelNow, createSubscription, previewInvoice, subscription, updateSubscription } from "./subscriptions";

type Params = Record<string, FormValue>;
export type Handler = (b: Billing, params: Params, match: string[]) => Promise<unknown>;

function newProduct(name: string, metadata: Record<string, string>): Stripe.Product {
  const now = Math.floor(Date.now() / 1000);
  return {
    id: newId("prod"),
    object: "product",
    active: true,
    created: now,
    default_price: null,
    description: null,
    tax_details: null,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata,
    name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    type: "service",
    unit_label: null,
    updated: now,
    url: null,
  };
}

/** Sets obj[key], remembering the old value for the event's previous_attributes. */
function change<T extends object, K extends keyof T>(obj: T, previous: Record<string, unknown>, key: K, value: T[K]) {
  previous[key as string] = obj[key];
  obj[key] = value;
}

export async function list<T extends { id: string }>(b: Billing, type: string, params: Params, filter: (o: T) => boolean, url: string) {
  const all = await b.store.list<T>(type, filter);
  const limit = Math.min(100, Math.max(1, int(params.limit) ?? 10));
  let start = 0;
  const after = str(params.starting_after);
  const before = str(params.ending_before);
  if (after) start = all.findIndex((o) => o.id === after) + 1;
  let data = all.slice(start, start + limit);
  if (before) {
    const end = all.findIndex((o) => o.id === before);
    data = all.slice(Math.max(0, end - limit), Math.max(0, end));
  }
  return { object: "list", data, has_more: start + limit < all.length, url };
}

async function customer(b: Billing, id: string) {
  const c = await b.store.get<Stripe.Customer>(id);
  if (!c) throw missing("customer", id);
  return c;
}

/** Attaches a saved method or a test token; 4000 0000 0000 0002 is declined here, as in Stripe. */
export async function attachPaymentMethod(b: Billing, token: string, customerId: string) {
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
    livemode: false,
    metadata: {},
    type: "card",
  }) as Stripe.PaymentMethod;
  pm.customer = customerId;
  await b.store.put(pm);
  await b.events.emit("payment_method.attached", pm, now);
  return pm;
}

const routes: [string, RegExp, Handler][] = [
  // products & prices
  [
    "POST",
    /^\/v1\/products$/,
    async (b, p) => {
      const product = newProduct(str(p.name) ?? "Product", meta(p.metadata));
      await b.store.put(product);
      return product;
    },
  ],
  ["GET", /^\/v1\/products\/([^/]+)$/, async (b, _p, [id]) => (await b.store.get(id)) ?? Promise.reject(missing("product", id))],
  [
    "POST",
    /^\/v1\/prices$/,
    async (b, p) => {
      let productId = str(p.product);
      if (!productId) {
        const data = obj(p.product_data);
        const product = newProduct(str(data.name) ?? "Product", meta(data.metadata));
        await b.store.put(product);
        productId = product.id;
      }
      const unit = int(p.unit_amount);
      if (unit === undefined || unit < 0) throw invalid("Missing required param: unit_amount.", "unit_amount");
      const lookup = str(p.lookup_key) ?? null;
      if (lookup && (await b.store.list<Stripe.Price>("price", (x) => x.lookup_key === lookup)).length)
        throw invalid(`A price (\`${lookup}\`) already uses that lookup key.`, "lookup_key");
      const recurring = obj(p.recurring);
      const intervals = ["day", "week", "month", "year"] as const;
      const interval = intervals.find((i) => i === str(recurring.interval)) ?? null;
      if (recurring.interval !== undefined && !interval)
        throw invalid("Invalid recurring[interval]: must be one of day, week, month, or year", "recurring[interval]");
      const price: Stripe.Price = {
        id: newId("price"),
        object: "price",
        active: true,
        billing_scheme: "per_unit",
        created: Math.floor(Date.now() / 1000),
        currency: str(p.currency) ?? "usd",
        custom_unit_amount: null,
        livemode: false,
        lookup_key: lookup,
        metadata: meta(p.metadata),
        nickname: null,
        product: productId,
        recurring: interval ? { interval, interval_count: 1, meter: null, trial_period_days: null, usage_type: "licensed" } : null,
        tax_behavior: "unspecified",
        tiers_mode: null,
        transform_quantity: null,
        type: interval ? "recurring" : "one_time",
        unit_amount: unit,
        unit_amount_decimal: wireDecimal(unit),
      };
      await b.store.put(price);
      return price;
    },
  ],
  [
    "GET",
    /^\/v1\/prices$/,
    async (b, p) => {
      const keys = arr(p.lookup_keys).map(String);
      const active = bool(p.active);
      return list<Stripe.Price>(
        b,
        "price",
        p,
        (x) =>
          (keys.length === 0 || keys.includes(x.lookup_key ?? "")) &&
          (active === undefined || x.active === active) &&
          (!str(p.product) || x.product === str(p.product)),
        "/v1/prices",
      );
    },
  ],
  ["GET", /^\/v1\/prices\/([^/]+)$/, async (b, _p, [id]) => b.price(id)],
  // customers & payment methods
  [
    "POST",
    /^\/v1\/customers$/,
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
  ["GET", /^\/v1\/customers\/([^/]+)$/, async (b, _p, [id]) => customer(b, id)],
  [
    "POST",
    /^\/v1\/customers\/([^/]+)$/,
    async (b, p, [id]) => {
      const c = await customer(b, id);
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
  ["POST", /^\/v1\/payment_methods\/([^/]+)\/attach$/, async (b, p, [id]) => attachPaymentMethod(b, id, (await customer(b, str(p.customer) ?? "")).id)],
  ["GET", /^\/v1\/payment_methods\/([^/]+)$/, async (b, _p, [id]) => (await b.store.get(id)) ?? Promise.reject(missing("payment_method", id))],
  // test clocks
  [
    "POST",
    /^\/v1\/test_helpers\/test_clocks$/,
    async (b, p) => {
      const frozen = int(p.frozen_time);
      if (!frozen) throw invalid("Missing required param: frozen_time.", "frozen_time");
      const clock: Stripe.TestHelpers.TestClock = {
        id: newId("clock"),
        object: "test_helpers.test_clock",
        created: Math.floor(Date.now() / 1000),
        deletes_after: Math.floor(Date.now() / 1000) + 30 * 86_400,
        frozen_time: frozen,
        livemode: false,
        name: str(p.name) ?? null,
        status: "ready",
        status_details: {},
      };
      await b.store.put(clock);
      return clock;
    },
  ],
  [
    "GET",
    /^\/v1\/test_helpers\/test_clocks\/([^/]+)$/,
    async (b, _p, [id]) => (await b.store.get(id)) ?? Promise.reject(missing("test_helpers.test_clock", id)),
  ],
  ["POST", /^\/v1\/test_helpers\/test_clocks\/([^/]+)\/advance$/, async (b, p, [id]) => advanceClock(b, id, int(p.frozen_time) ?? 0)],
  // subscriptions
  [
    "POST",
    /^\/v1\/subscriptions$/,
    async (b, p) => {
      const items = arr(p.items).map((i) => obj(i));
      const price = str(items[0]?.price);
      if (!price) throw invalid("Missing required param: items[0][price].", "items");
      return createSubscription(b, {
        customer: str(p.customer) ?? "",
        price,
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
    async (b, p) =>
      list<Stripe.Subscription>(
        b,
        "subscription",
        p,
        (s) => (!str(p.customer) || s.customer === str(p.customer)) && (str(p.status) ? s.status === str(p.status) : s.status !== "canceled"),
        "/v1/subscriptions",
      ),
  ],
  ["GET", /^\/v1\/subscriptions\/([^/]+)$/, async (b, _p, [id]) => subscription(b, id)],
  ["POST", /^\/v1\/subscriptions\/([^/]+)$/, async (b, p, [id]) => updateSubscription(b, id, p)],
  [
    "DELETE",
    /^\/v1\/subscriptions\/([^/]+)$/,
    async (b, _p, [id]) => {
      const sub = await subscription(b, id);
      return cancelNow(b, sub, await b.nowFor(sub.customer as string));
    },
  ],
  ...scheduleRoutes,
  // invoices
  [
    "GET",
    /^\/v1\/invoices$/,
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
  ["GET", /^\/v1\/invoices\/([^/]+)$/, async (b, _p, [id]) => (await b.store.get(id)) ?? Promise.reject(missing("invoice", id))],
  ["POST", /^\/v1\/invoices\/create_preview$/, async (b, p) => previewInvoice(b, p)],
  // events
  ["GET", /^\/v1\/events\/([^/]+)$/, async (b, _p, [id]) => (await b.store.get(id)) ?? Promise.reject(missing("event", id))],
  ["GET", /^\/v1\/events$/, async (b, p) => list<Stripe.Event>(b, "event", p, (e) => !str(p.type) || e.type === str(p.type), "/v1/events")],
  // checkout & billing portal sessions
  [
    "POST",
    /^\/v1\/checkout\/sessions$/,
    async (b, p) => {
      const items = arr(p.line_items).map((i) => obj(i));
      const price = await b.price(str(items[0]?.price) ?? "");
      const cust = str(p.customer) ?? null;
      const now = await b.nowFor(cust);
      const id = newId("cs_test");
      const subData = obj(p.subscription_data);
      const session = {
        id,
        object: "checkout.session",
        amount_subtotal: price.unit_amount,
        amount_total: price.unit_amount,
        cancel_url: str(p.cancel_url) ?? null,
        client_reference_id: str(p.client_reference_id) ?? null,
        created: now,
        currency: price.currency,
        customer: cust,
        customer_email: str(p.customer_email) ?? null,
        expires_at: now + 86_400,
        livemode: false,
        metadata: meta(p.metadata),
        mode: str(p.mode) ?? "subscription",
        payment_status: "unpaid",
        status: "open",
        subscription: null,
        success_url: str(p.success_url) ?? null,
        url: `${b.publicUrl}/checkout/${id}`,
        line_items_price: price.id,
        subscription_data: { trial_period_days: int(subData.trial_period_days) ?? null, metadata: meta(subData.metadata) },
      };
      await b.store.put(session);
      return publicSession(session);
    },
  ],
  [
    "GET",
    /^\/v1\/checkout\/sessions\/([^/]+)$/,
    async (b, _p, [id]) => publicSession((await b.store.get(id)) ?? (await Promise.reject(missing("checkout.session", id)))),
  ],
  [
    "POST",
    /^\/v1\/billing_portal\/sessions$/,
    async (b, p) => {
      const c = await customer(b, str(p.customer) ?? "");
      const id = newId("bps");
      const session: Stripe.BillingPortal.Session = {
        customer_account: null,
        id,
        object: "billing_portal.session",
        configuration: "bpc_local",
        created: await b.nowFor(c.id),
        customer: c.id,
        flow: null,
        livemode: false,
        locale: null,
        on_behalf_of: null,
        return_url: str(p.return_url) ?? null,
        url: `${b.publicUrl}/portal/${id}`,
      };
      await b.store.put(session);
      return session;
    },
  ],
];

/** The stored session carries two private fields for the hosted page; they are not returned. */
function publicSession(s: any) {
  const { line_items_price: _p, subscription_data: _d, ...rest } = s;
  return rest;
}

/** Replaces ids named by `expand[]` with their objects (one level, dotted paths allowed). */
async function expand(b: Billing, value: any, paths: string[]): Promise<any> {
  for (const path of paths) {
    const parts = path.split(".");
    const walk = async (node: any, i: number): Promise<void> => {
      if (!node || typeof node !== "object") return;
      if (parts[i] === "data" && Array.isArray(node.data)) {
        for (const item of node.data) await walk(item, i + 1);
        return;
      }
      const key = parts[i];
      if (i === parts.length - 1) {
        if (typeof node[key] === "string") node[key] = (await b.store.get(node[key])) ?? node[key];
      } else {
        await walk(node[key], i + 1);
      }
    };
    await walk(value, 0);
  }
  return value;
}

export async function handleApi(b: Billing, method: string, path: string, params: Params): Promise<unknown> {
  // Meter routes are read here, at call time, so the two modules may import each other.
  for (const [m, re, handler] of [...routes, ...meterRoutes]) {
    if (m !== method) continue;
    const match = re.exec(path);
    if (!match) continue;
    const result = await handler(b, params, match.slice(1).map(decodeURIComponent));
    return expand(b, structuredClone(result), arr(params.expand).map(String));
  }
  throw new StripeError(404, "invalid_request_error", `Unrecognized request URL (${method}: ${path}).`);
}
