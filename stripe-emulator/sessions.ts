// Checkout and billing portal sessions (their hosted pages live in pages.ts).
import { missing } from "./billing";
import { customerOf } from "./customers";
import { arr, int, meta, obj, str } from "./form";
import type { Route } from "./route";
import { newId } from "./store";
import type Stripe from "stripe";
import { array, integer, metadata, object, oneOf, string } from "./params";

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
      subscription_data: object({ metadata, trial_period_days: integer({ min: 1 }) }),
      metadata,
      success_url: string,
      cancel_url: string,
    },
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
    {},
    async (b, _p, [id]) => publicSession((await b.store.get(id)) ?? (await Promise.reject(missing("checkout.session", id)))),
  ],
  [
    "POST",
    /^\/v1\/billing_portal\/sessions$/,
    { customer: string, return_url: string },
    async (b, p) => {
      const c = await customerOf(b, str(p.customer) ?? "");
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
