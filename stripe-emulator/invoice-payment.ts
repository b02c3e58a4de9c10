// What a customer does on the hosted invoice page: pay an open invoice with a card. The charge is
// the one every payment of an invoice makes (`chargeInvoice`), so a paid invoice sends
// `invoice.paid` and `invoice.payment_succeeded` and a past_due subscription is active again.
import type Stripe from "stripe";
import type { Account } from "./account";
import { chargeInvoice } from "./invoices";
import { invoicePage, payable } from "./pages";

/**
 * Runs one post of the invoice page `id` (call it under the store's lock). Paid, it answers 303 to
 * the page, which then shows the invoice paid; so does a second post once it is paid. A declined
 * card answers the form again (402) with Stripe's message, the invoice still open.
 */
export async function payInvoiceOnPage(b: Account, id: string, form: FormData): Promise<Response> {
  const inv = await b.store.get<Stripe.Invoice>(id);
  if (inv?.object !== "invoice") return invoicePage(b, id);
  const page = new Response(null, { status: 303, headers: { location: `/invoice/${id}` } });
  if (inv.status === "paid") return page;
  if (!payable(inv)) return invoicePage(b, id, undefined, 409);
  const card = String(form.get("card") ?? "").replace(/\s+/g, "");
  const refused = cardRefusal(card, String(form.get("exp") ?? ""), String(form.get("cvc") ?? "").trim(), new Date());
  if (refused) return invoicePage(b, id, refused, 400);
  if (!(await chargeInvoice(b, inv, await b.nowFor(inv.customer as string), card))) return invoicePage(b, id, "Your card was declined.", 402);
  return page;
}

/** Stripe's message for a card form it cannot charge (expiry checked against the real date, as a card's is), or null. */
function cardRefusal(card: string, exp: string, cvc: string, today: Date): string | null {
  if (!/^\d{12,19}$/.test(card)) return "Your card number is incomplete.";
  if (!passesLuhn(card)) return "Your card number is invalid.";
  const expiry = /^(\d{1,2})\s*\/\s*(\d{2}|\d{4})$/.exec(exp.trim());
  if (!expiry) return "Your card's expiration date is incomplete.";
  const month = Number(expiry[1]);
  const year = expiry[2].length === 2 ? 2000 + Number(expiry[2]) : Number(expiry[2]);
  if (month < 1 || month > 12) return "Your card's expiration month is invalid.";
  if (year < today.getUTCFullYear()) return "Your card's expiration year is in the past.";
  if (year === today.getUTCFullYear() && month < today.getUTCMonth() + 1) return "Your card's expiration date is in the past.";
  if (!/^\d{3,4}$/.test(cvc)) return "Your card's security code is incomplete.";
  return null;
}

/** The check digit every card number carries (Luhn): a mistyped number fails it, as on Stripe's form. */
function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0 && /[1-9]/.test(digits);
}
