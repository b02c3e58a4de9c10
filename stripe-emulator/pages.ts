// The hosted pages a browser sees: Checkout, the billing portal, an invoice (with its pay form) and its PDF.
// Plain HTML with inline CSS (no external assets), labelled controls for people and for tests.
import type Stripe from "stripe";
import { type Account, money, pricePer } from "./account";
import { configurationOf, currentSubscription, switchablePrices } from "./portal-configurations";
import { expireIfDue } from "./sessions";

const esc = (s: unknown) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
const date = (t: number) => new Date(t * 1000).toUTCString().slice(5, 16);
const cents = (n: number, currency = "usd") => new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() }).format(n / 100);

const layout = (title: string, body: string, status = 200) =>
  new Response(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;background:#f6f8fa;margin:0;color:#1a1f36}main{max-width:440px;margin:48px auto;background:#fff;border-radius:12px;box-shadow:0 2px 12px #0001;padding:32px}
h1{font-size:20px;margin:0 0 4px}p.muted{color:#697386;margin:0 0 20px}label{display:block;font-size:14px;margin:14px 0 6px}input{width:100%;box-sizing:border-box;padding:10px;border:1px solid #d5dbe1;border-radius:6px;font-size:16px}
button{margin-top:20px;width:100%;padding:12px;border:0;border-radius:6px;background:#635bff;color:#fff;font-size:16px;cursor:pointer}button.secondary{background:#fff;color:#635bff;border:1px solid #635bff}
.error{background:#fdecea;color:#b3261e;padding:10px;border-radius:6px;margin-top:12px}table{width:100%;border-collapse:collapse;font-size:14px}td,th{padding:8px 4px;border-bottom:1px solid #eee;text-align:left}.badge{font-size:12px;background:#e3e8ee;border-radius:4px;padding:2px 6px}.test{font-size:12px;color:#b3261e;text-transform:uppercase;letter-spacing:.05em}</style></head>
<body><main><div class="test">Test mode · local Stripe</div>${body}</main></body></html>`,
    { status, headers: { "content-type": "text/html; charset=utf-8" } },
  );

export async function checkoutPage(b: Account, id: string, error?: string) {
  const s = await b.store.get<any>(id);
  if (!s) return layout("Not found", "<h1>This checkout session does not exist.</h1>", 404);
  await expireIfDue(b, s);
  if (s.status !== "open") return layout("Done", `<h1>This checkout is ${esc(s.status)}.</h1>`, 410);
  const price = await b.price(s.line_items_prices?.[0] ?? s.line_items_price);
  const trial = s.subscription_data?.trial_period_days as number | null;
  const customer = s.customer ? await b.store.get<Stripe.Customer>(s.customer) : null;
  const once = s.mode === "payment";
  const quantity = (s.line_items_quantity as number | undefined) ?? 1;
  const terms = once
    ? `${quantity} × ${money(price)} = ${cents(s.amount_total, s.currency)}, paid once`
    : trial
      ? `${trial} days free, then ${money(price)} per ${price.recurring?.interval ?? "month"}`
      : `${money(price)} per ${price.recurring?.interval ?? "month"}`;
  return layout(
    "Checkout",
    `<h1>${esc(await b.productName(price))}</h1>
<p class="muted">${esc(terms)}</p>
<form method="post" action="/checkout/${esc(id)}">
${customer ? `<p>Paying as <strong>${esc(customer.email ?? customer.name ?? customer.id)}</strong></p>` : `<label for="email">Email</label><input id="email" name="email" type="email" required>`}
<label for="card">Card number</label><input id="card" name="card" inputmode="numeric" autocomplete="cc-number" value="4242 4242 4242 4242" required>
<p class="muted" style="margin-top:6px;font-size:13px">Test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined, 4000 0000 0000 0341 is accepted and then fails every charge.</p>
${error ? `<div class="error" role="alert">${esc(error)}</div>` : ""}
<button type="submit" id="submit">${once ? `Pay ${esc(cents(s.amount_total, s.currency))}` : trial ? "Start trial" : "Subscribe"}</button>
</form>
${s.cancel_url ? `<p style="margin-top:16px;text-align:center"><a href="${esc(s.cancel_url)}">Cancel and go back</a></p>` : ""}`,
    error ? 402 : 200,
  );
}

/** The billing portal: what the session's configuration allows (cards, invoices, cancel, price switches), nothing else. */
export async function portalPage(b: Account, id: string, notice?: string, error?: string, status = 200) {
  const session = await b.store.get<Stripe.BillingPortal.Session>(id);
  if (!session) return layout("Not found", "<h1>This portal session does not exist.</h1>", 404);
  const { features, business_profile: profile } = await configurationOf(b, session);
  const sub = await currentSubscription(b, session.customer as string);
  const invoices = features.invoice_history.enabled ? await b.store.list<Stripe.Invoice>("invoice", (x) => x.customer === session.customer) : [];
  const form = (fields: string, button: string, secondary = false) =>
    `<form method="post" action="/portal/${esc(id)}">${fields}<button type="submit"${secondary ? ' class="secondary"' : ""}>${esc(button)}</button></form>`;
  const action = (name: string, extra = "") => `<input type="hidden" name="action" value="${name}">${extra}`;
  const price = sub?.items.data[0].price;
  let plan = "<p>No active subscription.</p>";
  if (sub && price) {
    const switches = await Promise.all(
      switchablePrices(features, price.id).map(async (to) => {
        const p = await b.price(to);
        return form(action("switch", `<input type="hidden" name="price" value="${esc(to)}">`), `Switch to ${await b.productName(p)} (${pricePer(p)})`, true);
      }),
    );
    const cancel = sub.cancel_at_period_end
      ? form(action("renew"), "Renew plan", true)
      : features.subscription_cancel.enabled
        ? form(action("cancel"), features.subscription_cancel.mode === "immediately" ? "Cancel plan now" : "Cancel plan", true)
        : "";
    plan = `<p><strong>${esc(await b.productName(price))}</strong> · ${pricePer(price)} <span class="badge">${esc(sub.status)}</span></p>
<p class="muted">${sub.cancel_at_period_end ? "Cancels" : "Renews"} on ${date(sub.items.data[0].current_period_end)}${await scheduledChange(b, sub)}</p>
${cancel}${switches.join("")}`;
  }
  const card = features.payment_method_update.enabled
    ? form(
        `${action("card")}<label for="card">New card number</label><input id="card" name="card" inputmode="numeric" autocomplete="cc-number" required>`,
        "Update card",
      )
    : "";
  const history = features.invoice_history.enabled
    ? `<h2 style="font-size:16px;margin-top:28px">Invoices</h2>
<table><tbody>${invoices.map((i) => `<tr><td>${date(i.created)}</td><td>${cents(i.total, i.currency)}</td><td><span class="badge">${esc(i.status)}</span></td><td><a href="/invoice/${esc(i.id)}">View</a></td></tr>`).join("") || "<tr><td>No invoices yet.</td></tr>"}</tbody></table>`
    : "";
  const links = [
    profile.privacy_policy_url ? `<a href="${esc(profile.privacy_policy_url)}">Privacy policy</a>` : "",
    profile.terms_of_service_url ? `<a href="${esc(profile.terms_of_service_url)}">Terms of service</a>` : "",
  ].filter(Boolean);
  return layout(
    "Billing",
    `<h1>Billing</h1><p class="muted">${esc(profile.headline ?? "Manage your subscription and invoices.")}</p>
${notice ? `<div class="error" style="background:#e6f4ea;color:#1e4620" role="status">${esc(notice)}</div>` : ""}
${error ? `<div class="error" role="alert">${esc(error)}</div>` : ""}
${plan}${card}${history}
${links.length ? `<p class="muted" style="margin-top:24px">${links.join(" · ")}</p>` : ""}
${session.return_url ? `<p style="margin-top:24px"><a href="${esc(session.return_url)}" id="return">← Return</a></p>` : ""}`,
    status,
  );
}

/** The change a subscription schedule makes at the period end, as the portal announces it. */
async function scheduledChange(b: Account, sub: Stripe.Subscription): Promise<string> {
  const schedule = sub.schedule ? await b.store.get<Stripe.SubscriptionSchedule>(sub.schedule as string) : null;
  const next = schedule?.status === "active" ? schedule.phases.find((p) => p.start_date === sub.items.data[0].current_period_end) : undefined;
  if (!next) return "";
  const price = await b.price(next.items[0].price as string);
  return ` · then ${esc(await b.productName(price))} at ${pricePer(price)}`;
}

/**
 * The hosted invoice page: the lines, and for an open invoice with an amount due a card form
 * that pays it (invoice-payment.ts). A paid, void or draft invoice shows its state, no form.
 */
export async function invoicePage(b: Account, id: string, error?: string, status = 200) {
  const inv = await b.store.get<Stripe.Invoice>(id);
  if (inv?.object !== "invoice") return layout("Not found", "<h1>This invoice does not exist.</h1>", 404);
  const due = cents(inv.amount_remaining, inv.currency);
  return layout(
    `Invoice ${inv.number ?? "draft"}`,
    `<h1>Invoice ${esc(inv.number ?? "draft")}</h1><p class="muted">${date(inv.created)} · <span class="badge">${esc(inv.status)}</span></p>
<table><tbody>${inv.lines.data.map((l) => `<tr><td>${esc(l.description)}<br><span class="muted" style="font-size:12px">${date(l.period.start)} – ${date(l.period.end)}</span></td><td style="text-align:right">${cents(l.amount, inv.currency)}</td></tr>`).join("")}
<tr><th>Total</th><th style="text-align:right">${cents(inv.total, inv.currency)}</th></tr><tr><td>Amount paid</td><td style="text-align:right">${cents(inv.amount_paid, inv.currency)}</td></tr>
${inv.status === "open" ? `<tr><th>Amount due</th><th style="text-align:right">${due}</th></tr>` : ""}</tbody></table>
${payable(inv) ? payForm(inv, due, error) : `<p role="status" style="margin-top:20px">${esc(invoiceState(inv))}</p>`}
<p style="margin-top:20px"><a href="/invoice/${esc(id)}/pdf">Download PDF</a></p>`,
    status,
  );
}

/** Whether the hosted page takes a payment for the invoice: open, with something left to pay. */
export const payable = (inv: Stripe.Invoice) => inv.status === "open" && inv.amount_remaining > 0;

function payForm(inv: Stripe.Invoice, due: string, error?: string) {
  return `<form method="post" action="/invoice/${esc(inv.id)}">
<label for="card">Card number</label><input id="card" name="card" inputmode="numeric" autocomplete="cc-number" value="4242 4242 4242 4242" required>
<label for="exp">Expiry (MM / YY)</label><input id="exp" name="exp" inputmode="numeric" autocomplete="cc-exp" value="12 / 34" required>
<label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" value="123" required>
<p class="muted" style="margin-top:6px;font-size:13px">Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 and 4000 0000 0000 0341 are declined. The card pays this invoice only; it is not saved.</p>
${error ? `<div class="error" role="alert">${esc(error)}</div>` : ""}
<button type="submit" id="submit">Pay ${esc(due)}</button>
</form>`;
}

/** What the page says of an invoice it takes no payment for. */
function invoiceState(inv: Stripe.Invoice): string {
  const paidAt = inv.status_transitions.paid_at;
  if (inv.status === "paid") return paidAt ? `This invoice was paid on ${date(paidAt)}.` : "This invoice is paid.";
  if (inv.status === "void") return "This invoice was voided: nothing is owed.";
  if (inv.status === "draft") return "This invoice is a draft: it cannot be paid until it is finalized.";
  return inv.status === "open" ? "Nothing is due on this invoice." : `This invoice is ${inv.status}.`;
}

/** A small, valid one-page PDF with the invoice's lines. */
export async function invoicePdf(b: Account, id: string) {
  const inv = await b.store.get<Stripe.Invoice>(id);
  if (inv?.object !== "invoice") return new Response("Not found", { status: 404 });
  const text = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, "?");
  const rows = [
    `Invoice ${inv.number}`,
    `Date: ${date(inv.created)}   Status: ${inv.status}`,
    "",
    ...inv.lines.data.map((l) => `${l.description}: ${cents(l.amount, inv.currency)}`),
    "",
    `Total: ${cents(inv.total, inv.currency)}`,
    `Paid: ${cents(inv.amount_paid, inv.currency)}`,
  ];
  const content = `BT /F1 12 Tf 50 780 Td 16 TL ${rows.map((r) => `(${text(r)}) Tj T*`).join(" ")} ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let pdf = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new Response(pdf, { headers: { "content-type": "application/pdf", "content-disposition": `inline; filename="${inv.number}.pdf"` } });
}
