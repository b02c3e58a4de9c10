// What a customer does on the hosted billing portal page: update the card, cancel or renew the
// plan, switch to another price. Each only when the session's configuration allows it: a post
// for anything else is refused (403), as Stripe's page offers no such control.
import type Stripe from "stripe";
import { type Account, DECLINED_AT_ATTACH, FAILS_EVERY_CHARGE, StripeError } from "./account";
import { handleApi } from "./api";
import { attachPaymentMethod } from "./customers";
import { chargeInvoice } from "./invoices";
import { portalPage } from "./pages";
import { configurationOf, currentSubscription, switchablePrices } from "./portal-configurations";

/** Runs one post of the portal page `id` (call it under the store's lock) and answers the page after it. */
export async function portalAction(b: Account, id: string, form: FormData): Promise<Response> {
  const session = await b.store.get<Stripe.BillingPortal.Session>(id);
  if (!session) return portalPage(b, id);
  const { features } = await configurationOf(b, session);
  const customerId = session.customer as string;
  const sub = await currentSubscription(b, customerId);
  const action = String(form.get("action") ?? "");
  const refused = () => portalPage(b, id, undefined, "This portal does not offer that.", 403);
  try {
    if (action === "card") {
      if (!features.payment_method_update.enabled) return refused();
      return await updateCard(b, customerId, sub, String(form.get("card") ?? "").replace(/\s+/g, ""), id);
    }
    if (!sub) return portalPage(b, id, undefined, "There is no plan to change.", 400);
    const path = `/v1/subscriptions/${sub.id}`;
    if (action === "renew" && sub.cancel_at_period_end) {
      await handleApi(b, "POST", path, { cancel_at_period_end: "false" });
      return portalPage(b, id, "Your plan will renew.");
    }
    if (action === "cancel") {
      if (!features.subscription_cancel.enabled) return refused();
      if (features.subscription_cancel.mode === "immediately") {
        await handleApi(b, "DELETE", path, {});
        return portalPage(b, id, "Your plan is canceled.");
      }
      await handleApi(b, "POST", path, { cancel_at_period_end: "true" });
      return portalPage(b, id, "Your plan will be canceled at the end of the period.");
    }
    if (action === "switch") {
      const item = sub.items.data[0];
      const price = String(form.get("price") ?? "");
      if (!switchablePrices(features, item.price.id).includes(price)) return refused();
      await handleApi(b, "POST", path, { items: [{ id: item.id, price }], proration_behavior: features.subscription_update.proration_behavior });
      return portalPage(b, id, "Your plan was changed.");
    }
    return portalPage(b, id, undefined, "This portal does not offer that.", 400);
  } catch (err) {
    if (err instanceof StripeError) return portalPage(b, id, undefined, err.message);
    throw err;
  }
}

/** A new default card; an open invoice of the subscription is charged again with it at once. */
async function updateCard(b: Account, customerId: string, sub: Stripe.Subscription | undefined, card: string, sessionId: string): Promise<Response> {
  if (!/^\d{12,19}$/.test(card)) return portalPage(b, sessionId, undefined, "Your card number is incomplete.");
  const token = DECLINED_AT_ATTACH.has(card) ? "pm_card_chargeDeclined" : FAILS_EVERY_CHARGE.has(card) ? "pm_card_chargeCustomerFail" : "pm_card_visa";
  const pm = await attachPaymentMethod(b, token, customerId);
  await handleApi(b, "POST", `/v1/customers/${customerId}`, { invoice_settings: { default_payment_method: pm.id } });
  if (sub) {
    await handleApi(b, "POST", `/v1/subscriptions/${sub.id}`, { default_payment_method: pm.id });
    const now = await b.nowFor(customerId);
    const open = await b.store.list<Stripe.Invoice>("invoice", (i) => i.parent?.subscription_details?.subscription === sub.id && i.status === "open");
    for (const invoice of open) if (!(await chargeInvoice(b, invoice, now))) return portalPage(b, sessionId, undefined, "Your card was declined.");
  }
  return portalPage(b, sessionId, "Your card was updated.");
}
