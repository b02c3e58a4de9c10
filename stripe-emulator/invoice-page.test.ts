// The hosted invoice page takes a payment as Stripe's does: an open invoice is paid with a card
// (invoice.paid, invoice.payment_succeeded, a past_due subscription active again), a declined
// card changes nothing but says so, and a paid, void or draft invoice shows its state, no form.
import { beforeAll, describe, expect, test } from "bun:test";
import type Stripe from "stripe";
import type { StripeLocal } from "./index";
import { eventReceiver, localStripeForTests } from "./test-support";

const SECRET = "whsec_invoicePageTestSecret";
const { url, received } = eventReceiver(SECRET);
const started = localStripeForTests("stripe_invoice_page_test", { webhook: { url, secret: SECRET } });
let local: StripeLocal;
let stripe: Stripe;
beforeAll(() => {
  ({ local, stripe } = started);
});

/** A subscription whose renewal failed on a card that fails every charge: past_due, its renewal invoice open. */
async function pastDue() {
  const price = await stripe.prices.create({ currency: "usd", unit_amount: 2900, recurring: { interval: "month" }, product_data: { name: "Starter" } });
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2026, 0, 10, 12) / 1000) });
  const customer = await stripe.customers.create({ email: "late@example.com", test_clock: clock.id });
  const visa = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: visa.id } });
  const sub = await stripe.subscriptions.create({ billing_mode: { type: "classic" }, customer: customer.id, items: [{ price: price.id }] });
  const failing = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", { customer: customer.id });
  await stripe.subscriptions.update(sub.id, { default_payment_method: failing.id });
  await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: sub.items.data[0].current_period_end + 3600 });
  const [invoice] = (await stripe.invoices.list({ subscription: sub.id, status: "open" })).data;
  expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("past_due");
  return { customer, sub, invoice, visa, failing };
}

/** A one-off invoice of $15.00, finalized without being charged (open, never attempted). */
async function oneOff(finalize = true) {
  const customer = await stripe.customers.create({ email: "once@example.com" });
  const price = await stripe.prices.create({ currency: "usd", unit_amount: 1500, product_data: { name: "Pack" } });
  const draft = await stripe.invoices.create({ customer: customer.id, auto_advance: false, pending_invoice_items_behavior: "exclude" });
  await stripe.invoiceItems.create({ customer: customer.id, invoice: draft.id, pricing: { price: price.id } });
  return finalize ? stripe.invoices.finalizeInvoice(draft.id, { auto_advance: false }) : stripe.invoices.retrieve(draft.id);
}

const pay = (invoice: Stripe.Invoice, fields: Record<string, string> = {}) =>
  fetch(invoice.hosted_invoice_url!, {
    method: "POST",
    body: new URLSearchParams({ card: "4242 4242 4242 4242", exp: "12 / 34", cvc: "123", ...fields }),
    redirect: "manual",
  });

/** The types of the events delivered about this invoice or subscription, in order. */
async function delivered(...ids: string[]) {
  await local.flushWebhooks();
  return received.filter((e) => ids.includes((e.data.object as { id: string }).id)).map((e) => e.type);
}

/** The invoice as the local Stripe holds it now. */
const stored = (id: string): Promise<Stripe.Invoice> => stripe.invoices.retrieve(id);

const hasForm = (html: string) => html.includes('<form method="post"') && html.includes('<label for="card">Card number</label>');

describe("the hosted invoice page", () => {
  test("an open invoice shows a labelled card form that pays it: paid, invoice.paid and payment_succeeded sent, past_due is active again", async () => {
    const { customer, sub, invoice, visa, failing } = await pastDue();
    const page = await fetch(invoice.hosted_invoice_url!);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(hasForm(html)).toBe(true);
    expect(html).toContain('<label for="exp">Expiry (MM / YY)</label>');
    expect(html).toContain('<label for="cvc">CVC</label>');
    expect(html).toContain("Pay $29.00");
    const before = await delivered(invoice.id, sub.id);

    const paid = await pay(invoice);
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toBe(`/invoice/${invoice.id}`);
    const after = await stripe.invoices.retrieve(invoice.id);
    expect(after).toMatchObject({ status: "paid", amount_paid: 2900, amount_remaining: 0, next_payment_attempt: null });
    // The customer's attempt after the failed renewal is not one of the retry schedule's.
    expect(after.attempt_count).toBe(invoice.attempt_count);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("active");
    expect((await delivered(invoice.id, sub.id)).slice(before.length)).toEqual(["invoice.paid", "invoice.payment_succeeded", "customer.subscription.updated"]);
    const updated = received.findLast((e) => e.type === "customer.subscription.updated" && (e.data.object as Stripe.Subscription).id === sub.id)!;
    expect(updated.data.previous_attributes).toEqual({ status: "past_due" });
    // The card paid this invoice only: the saved methods are the ones before.
    expect((await stripe.subscriptions.retrieve(sub.id)).default_payment_method).toBe(failing.id);
    expect(((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).invoice_settings.default_payment_method).toBe(visa.id);
    const attached = await stripe.events.list({ type: "payment_method.attached", limit: 100 });
    const ofCustomer = attached.data.filter((e) => (e.data.object as Stripe.PaymentMethod).customer === customer.id);
    expect(ofCustomer.map((e) => (e.data.object as Stripe.PaymentMethod).id).sort()).toEqual([visa.id, failing.id].sort());

    const shown = await (await fetch(invoice.hosted_invoice_url!)).text();
    expect(hasForm(shown)).toBe(false);
    expect(shown).toContain("This invoice was paid on");
    expect(shown).toContain(`href="/invoice/${invoice.id}/pdf"`);
  });

  test("a declined card shows Stripe's message with the form again, sends invoice.payment_failed and changes nothing", async () => {
    const { sub, invoice } = await pastDue();
    const before = await delivered(invoice.id, sub.id);
    for (const card of ["4000 0000 0000 0002", "4000 0000 0000 0341"]) {
      const declined = await pay(invoice, { card });
      expect(declined.status).toBe(402);
      const html = await declined.text();
      expect(html).toContain('<div class="error" role="alert">Your card was declined.</div>');
      expect(hasForm(html)).toBe(true);
    }
    expect(await stored(invoice.id)).toEqual(invoice);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("past_due");
    expect((await delivered(invoice.id, sub.id)).slice(before.length)).toEqual(["invoice.payment_failed", "invoice.payment_failed"]);
  });

  test("an incomplete card form is refused with Stripe's message and charges nothing", async () => {
    const invoice = await oneOff();
    const cases: [Record<string, string>, string][] = [
      [{ card: "4242" }, "Your card number is incomplete."],
      [{ card: "4242 4242 4242 4241" }, "Your card number is invalid."], // fails the check digit
      [{ card: "0000 0000 0000 0000" }, "Your card number is invalid."],
      [{ exp: "" }, "Your card's expiration date is incomplete."],
      [{ exp: "13 / 30" }, "Your card's expiration month is invalid."],
      [{ exp: "01 / 20" }, "Your card's expiration year is in the past."],
      [{ cvc: "1" }, "Your card's security code is incomplete."],
    ];
    for (const [fields, message] of cases) {
      const refused = await pay(invoice, fields);
      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain(message.replaceAll("'", "&#39;"));
    }
    expect(await stored(invoice.id)).toEqual(invoice);
    expect(await delivered(invoice.id)).toEqual(["invoice.created", "invoice.finalized"]);
  });

  test("a post that is no form is 400, a PDF of what is no invoice 404: never a 500 or an error page", async () => {
    const invoice = await oneOff();
    for (const init of [
      { body: JSON.stringify({ card: "4242424242424242" }), headers: { "content-type": "application/json" } },
      { body: "card=4242", headers: { "content-type": "multipart/form-data; boundary=nope" } },
      {},
    ]) {
      const r = await fetch(invoice.hosted_invoice_url!, { method: "POST", ...init });
      expect(r.status).toBe(400);
      expect(await r.text()).toBe("The form could not be read.");
    }
    const customerPdf = await fetch(`${invoice.hosted_invoice_url!.replace(invoice.id, invoice.customer as string)}/pdf`);
    expect(customerPdf.status).toBe(404);
    expect(await stored(invoice.id)).toEqual(invoice);
  });

  test("a first attempt on the page that fails counts as the invoice's first attempt, as invoices.pay does", async () => {
    const invoice = await oneOff();
    expect(invoice.attempt_count).toBe(0);
    expect((await pay(invoice, { card: "4000 0000 0000 0002" })).status).toBe(402);
    expect(await stripe.invoices.retrieve(invoice.id)).toMatchObject({ status: "open", attempt_count: 1, attempted: true, next_payment_attempt: null });
    expect(await delivered(invoice.id)).toEqual(["invoice.created", "invoice.finalized", "invoice.payment_failed"]);
  });

  test("a double submit pays once: the second post changes nothing and shows the invoice paid", async () => {
    const invoice = await oneOff();
    const [first, second] = await Promise.all([pay(invoice), pay(invoice)]);
    expect([first.status, second.status]).toEqual([303, 303]);
    const paid = await stripe.invoices.retrieve(invoice.id);
    expect(paid).toMatchObject({ status: "paid", amount_paid: 1500, attempt_count: 1 });
    const third = await fetch(invoice.hosted_invoice_url!, {
      method: "POST",
      body: new URLSearchParams({ card: "4000 0000 0000 0002", exp: "12 / 34", cvc: "123" }),
    });
    expect(third.status).toBe(200);
    expect(await third.text()).toContain("This invoice was paid on");
    expect(await stored(invoice.id)).toEqual(paid);
    expect(await delivered(invoice.id)).toEqual(["invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded"]);
  });

  test("a void or a draft invoice shows its state and no form, refuses a post, and keeps its PDF link", async () => {
    const open = await oneOff();
    const voided = await stripe.invoices.voidInvoice(open.id);
    const draft = await oneOff(false);
    for (const [invoice, state] of [
      [voided, "This invoice was voided: nothing is owed."],
      [draft, "This invoice is a draft: it cannot be paid until it is finalized."],
    ] as const) {
      const html = await (await fetch(invoice.hosted_invoice_url!)).text();
      expect(hasForm(html)).toBe(false);
      expect(html).toContain(state);
      expect(html).toContain(`href="/invoice/${invoice.id}/pdf"`);
      const refused = await pay(invoice);
      expect(refused.status).toBe(409);
      expect(hasForm(await refused.text())).toBe(false);
      expect(await stored(invoice.id)).toEqual(invoice);
    }
    expect((await fetch(`${local.url}/invoice/in_missing`, { method: "POST", body: new URLSearchParams({ card: "4242424242424242" }) })).status).toBe(404);
  });
});
