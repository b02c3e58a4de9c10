// Checkout sessions (their hosted page lives in pages.ts; the portal's sessions in portal-configurations.ts).

import type Stripe from "stripe";
import { type Account, invalid, missing } from "./account";
import { customerOf, refuseOtherCurrency } from "./customers";
import { arr, int, meta, obj, str } from "./form";
import { itemPrices } from "./metered";
import { array, integer, listParams, metadata, object, oneOf, string } from "./params";
import { list, type Route } from "./route";
import { newId } from "./store";
import { billingModeParam, classicBillingMode } from "./subscriptions";

export const sessionRoutes: Route[] = [
  [
    "POST",
    /^\/v1\/checkout\/sessions$/,
    {
      mode: oneOf("payment", "setup", "subscription"),
      customer: string,
      customer_email: string,
      client_reference_id: string,
      line_items: array(object({ price: string, quantity: integer({ min: 1 }) })),
      subscription_data: object({ metadata, trial_period_days: integer({ min: 1 }), billing_mode: billingModeParam }),
      metadata,
      success_url: string,
      cancel_url: string,
      expires_at: integer({ min: 0 }),
    },
    async (b, p) => {
      const mode = (str(p.mode) ?? "subscription") as Stripe.Checkout.Session.Mode;
      const items = arr(p.line_items).map((i) => obj(i));
      // A subscription's line items: one licensed price (billed now) and any metered ones (billed in
      // arrears); a payment's: one one-time price and its quantity.
      const prices = mode === "subscription" ? await itemPrices(b, arr(p.line_items), "line_items") : [await b.price(str(items[0]?.price) ?? "")];
      const price = prices[0];
      const quantity = int(items[0]?.quantity) ?? 1;
      const cust = str(p.customer) ?? null;
      const now = await b.nowFor(cust);
      const expiresAt = int(p.expires_at) ?? now + MAX_LIFETIME;
      if (expiresAt < now + MIN_LIFETIME)
        throw invalid("The `expires_at` timestamp must be at least 30 minutes after the Checkout Session is created.", "expires_at");
      if (expiresAt > now + MAX_LIFETIME)
        throw invalid("The `expires_at` timestamp must be at most 24 hours after the Checkout Session is created.", "expires_at");
      const id = newId("cs_test");
      const subData = obj(p.subscription_data);
      // A one-off payment takes one-time prices only, as Stripe refuses a recurring one in payment mode.
      if (mode === "payment" && price.recurring)
        throw invalid(
          "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
          "line_items[0][price]",
        );
      if (mode === "setup") throw invalid("The local Stripe makes Checkout sessions in payment and subscription mode only.", "mode");
      // The subscription Checkout makes gets the pinned version's default mode unless told otherwise.
      const billingMode = mode === "subscription" ? classicBillingMode(subData.billing_mode, "subscription_data[billing_mode]") : null;
      const customer = cust ? await customerOf(b, cust, "customer") : null;
      if (customer && mode === "subscription") await refuseOtherCurrency(b, customer.id, price.currency, "line_items");
      const session: Stripe.Checkout.Session = {
        id,
        object: "checkout.session",
        adaptive_pricing: null,
        after_expiration: null,
        allow_promotion_codes: null,
        allowed_payment_method_types: null,
        amount_subtotal: (price.unit_amount ?? 0) * quantity,
        amount_total: (price.unit_amount ?? 0) * quantity,
        automatic_tax: { enabled: false, liability: null, provider: null, status: null },
        billing_address_collection: null,
        cancel_url: str(p.cancel_url) ?? null,
        client_reference_id: str(p.client_reference_id) ?? null,
        client_secret: null,
        collected_information: null,
        consent: null,
        consent_collection: null,
        created: now,
        currency: price.currency,
        currency_conversion: null,
        custom_fields: [],
        custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
        customer: cust,
        customer_account: null,
        // Stripe creates customers only in payment and setup mode; a subscription always has one.
        customer_creation: null,
        customer_details: customer ? customerDetails(customer.email) : null,
        customer_email: str(p.customer_email) ?? null,
        discounts: [],
        expires_at: expiresAt,
        integration_identifier: null,
        invoice: null,
        invoice_creation: null,
        livemode: false,
        locale: null,
        managed_payments: null,
        metadata: meta(p.metadata),
        mode,
        origin_context: null,
        payment_intent: null,
        payment_link: null,
        payment_method_collection: "always",
        payment_method_configuration_details: null,
        payment_method_options: { card: { request_three_d_secure: "automatic" } },
        payment_method_types: ["card"],
        payment_status: "unpaid",
        permissions: null,
        recovered_from: null,
        saved_payment_method_options: customer ? { allow_redisplay_filters: ["always"], payment_method_remove: null, payment_method_save: null } : null,
        setup_intent: null,
        shipping_address_collection: null,
        shipping_cost: null,
        shipping_options: [],
        status: "open",
        submit_type: null,
        subscription: null,
        success_url: str(p.success_url) ?? null,
        total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
        ui_mode: "hosted_page",
        url: `${b.publicUrl}/checkout/${id}`,
        wallet_options: null,
      };
      // Private fields for the hosted page, never returned.
      const stored = {
        ...session,
        line_items_price: price.id,
        line_items_quantity: quantity,
        line_items_prices: prices.map((x) => x.id),
        subscription_data: { trial_period_days: int(subData.trial_period_days) ?? null, metadata: meta(subData.metadata), billing_mode: billingMode },
      };
      await b.store.put(stored);
      return publicSession(stored);
    },
  ],
  [
    "GET",
    /^\/v1\/checkout\/sessions$/,
    { ...listParams, customer: string, status: oneOf("complete", "expired", "open"), subscription: string },
    async (b, p) => {
      await expireDueSessions(b, (s) => !str(p.customer) || s.customer === str(p.customer));
      const page = await list<any>(
        b,
        "checkout.session",
        p,
        (s) =>
          (!str(p.customer) || s.customer === str(p.customer)) &&
          (!str(p.status) || s.status === str(p.status)) &&
          (!str(p.subscription) || s.subscription === str(p.subscription)),
        "/v1/checkout/sessions",
      );
      return { ...page, data: page.data.map(publicSession) };
    },
  ],
  ["POST", /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/, {}, async (b, _p, [id]) => expireSession(b, id)],
  [
    "GET",
    /^\/v1\/checkout\/sessions\/([^/]+)$/,
    {},
    async (b, _p, [id]) => {
      const s = (await b.store.get<any>(id)) ?? (await Promise.reject(missing("checkout.session", id)));
      await expireIfDue(b, s);
      return publicSession(s);
    },
  ],
];

/** A session lives 24 hours unless `expires_at` says otherwise, at least 30 minutes (Stripe's bounds). */
const MIN_LIFETIME = 30 * 60;
const MAX_LIFETIME = 24 * 3600;

/**
 * Expires an open session, as Stripe does: it can no longer be paid (its page says it has
 * expired), its `url` is gone, and `checkout.session.expired` is sent. Any other status is refused.
 */
async function expireSession(b: Account, id: string): Promise<Stripe.Checkout.Session> {
  const s = await b.store.get<any>(id);
  if (s?.object !== "checkout.session") throw missing("checkout.session", id);
  await expireIfDue(b, s);
  if (s.status !== "open")
    throw invalid(`Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of \`${s.status}\`.`);
  await markExpired(b, s, await b.nowFor(s.customer));
  return publicSession(s);
}

async function markExpired(b: Account, s: any, at: number) {
  Object.assign(s, { status: "expired", url: null });
  await b.store.put(s);
  await b.events.emit("checkout.session.expired", publicSession(s), at);
}

/** Expires the session (given as stored) if its `expires_at` has passed on its customer's clock; true if it did. */
export async function expireIfDue(b: Account, s: any): Promise<boolean> {
  if (s?.object !== "checkout.session" || s.status !== "open" || s.expires_at > (await b.nowFor(s.customer))) return false;
  await markExpired(b, s, s.expires_at);
  return true;
}

/** Expires every open session (of those `filter` takes) whose `expires_at` has passed, as Stripe does by itself. */
export async function expireDueSessions(b: Account, filter: (s: Stripe.Checkout.Session) => boolean = () => true): Promise<void> {
  for (const s of await b.store.list<any>("checkout.session", (x) => x.status === "open" && filter(x))) await expireIfDue(b, s);
}

/** What a completed Checkout session knows of its customer. */
export const customerDetails = (email: string | null): Stripe.Checkout.Session.CustomerDetails => ({
  address: null,
  business_name: null,
  email,
  individual_name: null,
  name: null,
  phone: null,
  tax_exempt: "none",
  tax_ids: [],
});

/** The stored session carries private fields for the hosted page; they are not returned. */
export function publicSession(s: any): Stripe.Checkout.Session {
  const { line_items_price: _p, line_items_quantity: _q, line_items_prices: _ps, subscription_data: _d, ...rest } = s;
  return rest;
}
