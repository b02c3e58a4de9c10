// Prepaid top-ups through the real app process, the worker and the local Stripe (which delivers
// some events twice and every batch reversed): a payment grants once whichever road gets there
// first and however often its events come; a declined card grants nothing; one Idempotency-Key
// is one charge; without a card, Checkout; an auto top-up run is one invoice however often it runs.
import { describe, expect, test } from "bun:test";
import type { StripeEventRow } from "../../../db/schema";
import { billingApi, billingSettled, newOrg, signIn, startBillingSystem, until } from "../../../test/billing";
import { subscribeThroughStripe } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";
import { autoTopUpFailed, chargeAutoTopUp } from "./auto-top-up.server";
import { processStripeEvent } from "./converge-events.server";
import { ensureCustomer, stripe } from "./stripe.server";
import { chargeSavedCard, topUpPrice } from "./stripe-top-ups.server";

const system = startBillingSystem({}, { deliveryChaos: { duplicate: 0.5, reorder: true } });
const billing = (orgId: string) => billingApi(system.app, orgId);

// The default catalog's api_call pack: 10,000 calls for $10.00.
const PACK = { units: 10_000, priceCents: 1000 };

const grantsOf = (orgId: string) =>
  sql<{ id: string; metric: string; units: number; remaining: number; source: string; source_id: string; amount_cents: number; months: number }[]>`
    select id, metric, units::int, remaining::int, source, source_id, amount_cents::int,
           extract(year from age(expires_at, granted_at))::int * 12 + extract(month from age(expires_at, granted_at))::int as months
      from credit_grants where org_id = ${orgId} order by granted_at`;
const grantedEvents = (orgId: string) => sql<{ data: any }[]>`select data from events where org_id = ${orgId} and type = 'credits.granted'`;

async function topUpInvoices(orgId: string) {
  const { customerId } = await ensureCustomer(orgId);
  return (await stripe.invoices.list({ customer: customerId, limit: 100 })).data.filter((i) => i.metadata?.kind === "top_up");
}

/** Every stored Stripe event of the org's customer converged again, newest first, twice over. */
async function convergeAgainReversed(orgId: string) {
  const { customerId } = await ensureCustomer(orgId);
  const events = await sql<StripeEventRow[]>`
    select id, type, object_id as "objectId", customer_id as "customerId", stripe_created_at as "stripeCreatedAt", payload,
           received_at as "receivedAt", processed_at as "processedAt", converge_ms as "convergeMs"
      from stripe_events where customer_id = ${customerId} order by received_at desc`;
  expect(events.length).toBeGreaterThan(0);
  for (let round = 0; round < 2; round++) for (const e of events) await processStripeEvent(e);
}

describe("a saved card is charged at once", () => {
  test("201 with the grant; its events delivered twice and out of order, and converged again in reverse, grant once", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const call = await billing(orgId);
    const bought = await call("POST", "top-ups", { metric: "api_call", packs: 2 }, { "idempotency-key": "first-pack" });
    expect(bought.status).toBe(201);
    expect(bought.body.data).toMatchObject({
      status: "granted",
      metric: "api_call",
      packs: 2,
      units: 2 * PACK.units,
      amountCents: 2 * PACK.priceCents,
      currency: "usd",
    });
    const invoiceId = bought.body.data.invoiceId as string;
    expect(bought.body.data.grant).toMatchObject({
      metric: "api_call",
      units: 20_000,
      remaining: 20_000,
      source: "top_up",
      sourceId: invoiceId,
      amountCents: 2000,
    });
    // Stripe's invoice: one line of the pack's price × 2, paid, nothing else the customer owes on it.
    const [inv] = await topUpInvoices(orgId);
    expect([inv.id, inv.status, inv.total, inv.amount_paid, inv.lines.data.length, inv.lines.data[0].quantity]).toEqual([invoiceId, "paid", 2000, 2000, 1, 2]);
    await billingSettled(system);
    // Every event of the purchase converged (none failed its job).
    const { customerId } = await ensureCustomer(orgId);
    expect(await sql`select type from stripe_events where customer_id = ${customerId} and processed_at is null`).toHaveLength(0);
    await convergeAgainReversed(orgId);
    const grants = await grantsOf(orgId);
    expect(grants.map((g) => [g.units, g.remaining, g.source, g.source_id, g.amount_cents, g.months])).toEqual([
      [20_000, 20_000, "top_up", invoiceId, 2000, 12],
    ]);
    const events = await grantedEvents(orgId);
    expect(events.map((e) => e.data)).toEqual([expect.objectContaining({ grantId: grants[0].id, units: 20_000, sourceId: invoiceId, amountCents: 2000 })]);
    // The invoice is in the org's invoice list like any other.
    const [mirrored] = await sql`select status, total::int from invoices where id = ${invoiceId}`;
    expect(mirrored).toEqual({ status: "paid", total: 2000 });
  });

  test("Stripe's webhooks alone grant a paid invoice (the request that paid it never got to)", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const { customerId } = await ensureCustomer(orgId);
    // Charged as the purchase charges, then nothing more: as if its process died right after Stripe answered.
    const charged = await chargeSavedCard({
      customerId,
      priceId: await topUpPrice({ metric: "tokens", units: 1_000_000, priceCents: 500, currency: "usd" }),
      packs: 3,
      metadata: { kind: "top_up", org_id: orgId, metric: "tokens", packs: "3", units: "3000000", source: "top_up" },
      key: `test:${orgId}`,
    });
    expect(charged).toMatchObject({ state: "paid", amountPaid: 1500 });
    await billingSettled(system);
    await until(async () => (await grantsOf(orgId)).length > 0);
    await convergeAgainReversed(orgId);
    expect((await grantsOf(orgId)).map((g) => [g.metric, g.units, g.source_id, g.amount_cents])).toEqual([["tokens", 3_000_000, charged.invoiceId, 1500]]);
    expect(await grantedEvents(orgId)).toHaveLength(1);
  });

  test("the same Idempotency-Key four times at once, then again: one invoice, one grant, equal answers", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const call = await billing(orgId);
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => call("POST", "top-ups", { metric: "api_call", packs: 1 }, { "idempotency-key": "one-key" })),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
    for (const a of answers) expect(a.body.data).toEqual(answers[0].body.data);
    const later = await call("POST", "top-ups", { metric: "api_call", packs: 1 }, { "idempotency-key": "one-key" });
    expect([later.status, later.body.data]).toEqual([201, answers[0].body.data]);
    expect(await topUpInvoices(orgId)).toHaveLength(1);
    expect(await grantsOf(orgId)).toHaveLength(1);
    // The key names one purchase: another number of packs under it is refused, and charges nothing.
    const other = await call("POST", "top-ups", { metric: "api_call", packs: 3 }, { "idempotency-key": "one-key" });
    expect([other.status, other.body.error.code]).toEqual([409, "IDEMPOTENCY_CONFLICT"]);
    expect(other.body.error.details).toEqual({});
    expect(await topUpInvoices(orgId)).toHaveLength(1);
  });
});

describe("a card Stripe declines", () => {
  test("402 PAYMENT_FAILED, nothing granted, the invoice voided; the same key answers the same", async () => {
    const orgId = await newOrg();
    // 4000 0000 0000 0341: attached as the saved card, then every charge of it fails.
    await subscribeThroughStripe(orgId, "starter", "fails");
    const call = await billing(orgId);
    const refused = await call("POST", "top-ups", { metric: "api_call", packs: 1 }, { "idempotency-key": "declined" });
    expect(refused.status).toBe(402);
    expect(refused.body).toMatchObject({ ok: false, error: { code: "PAYMENT_FAILED", details: { reason: "Your card was declined." } } });
    const again = await call("POST", "top-ups", { metric: "api_call", packs: 1 }, { "idempotency-key": "declined" });
    expect([again.status, again.body.error]).toEqual([402, refused.body.error]);
    const invoices = await topUpInvoices(orgId);
    expect(invoices.map((i) => [i.status, i.amount_paid])).toEqual([["void", 0]]);
    await billingSettled(system);
    await convergeAgainReversed(orgId);
    expect(await grantsOf(orgId)).toHaveLength(0);
    expect(await grantedEvents(orgId)).toHaveLength(0);
  });

  test("4000 0000 0000 0002 on the top-up's Checkout page is declined there: nothing granted", async () => {
    const orgId = await newOrg();
    const call = await billing(orgId);
    const started = await call("POST", "top-ups", { metric: "api_call", packs: 1 }, { "idempotency-key": "no-card-declined" });
    expect([started.status, started.body.data.status]).toEqual([200, "checkout"]);
    const page = await fetch(started.body.data.checkoutUrl, { method: "POST", body: new URLSearchParams({ card: "4000000000000002" }), redirect: "manual" });
    expect(page.status).toBe(402);
    expect(await page.text()).toContain("Your card was declined.");
    await billingSettled(system);
    expect((await stripe.checkout.sessions.retrieve(started.body.data.sessionId)).status).toBe("open");
    expect(await grantsOf(orgId)).toHaveLength(0);
  });
});

describe("without a saved card", () => {
  test("the answer is a Checkout URL; paying it grants once, by the webhook, however often it comes", async () => {
    const orgId = await newOrg();
    const call = await billing(orgId);
    const started = await call("POST", "top-ups", { metric: "api_call", packs: 3 }, { "idempotency-key": "checkout-pack" });
    expect(started.status).toBe(200);
    const { status, units, amountCents, sessionId } = started.body.data;
    expect([status, units, amountCents, sessionId.slice(0, 3)]).toEqual(["checkout", 30_000, 3000, "cs_"]);
    const session = await stripe.checkout.sessions.retrieve(started.body.data.sessionId);
    expect([session.mode, session.amount_total, session.metadata?.units]).toEqual(["payment", 3000, "30000"]);
    // A retry answers the same session.
    const retry = await call("POST", "top-ups", { metric: "api_call", packs: 3 }, { "idempotency-key": "checkout-pack" });
    expect(retry.body.data).toEqual(started.body.data);
    const paid = await fetch(started.body.data.checkoutUrl, { method: "POST", body: new URLSearchParams({ card: "4242424242424242" }), redirect: "manual" });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("location")).toContain(`/billing/top-ups?metric=api_call&checkout=success&session_id=${session.id}`);
    await billingSettled(system);
    await until(async () => (await grantsOf(orgId)).length > 0);
    await convergeAgainReversed(orgId);
    expect((await grantsOf(orgId)).map((g) => [g.units, g.remaining, g.source_id, g.amount_cents, g.months])).toEqual([[30_000, 30_000, session.id, 3000, 12]]);
    expect(await grantedEvents(orgId)).toHaveLength(1);
  });
});

describe("a top-up's Checkout and a plan's, open at once", () => {
  test("starting a plan's Checkout leaves the top-up's payable: only another plan's is expired", async () => {
    const orgId = await newOrg();
    const call = await billing(orgId);
    const topUp = await call("POST", "top-ups", { metric: "api_call", packs: 1 }, { "idempotency-key": "beside-a-plan" });
    expect(topUp.body.data.status).toBe("checkout");
    const first = await call("POST", "checkout", { planCode: "starter" });
    const second = await call("POST", "checkout", { planCode: "growth" });
    expect([first.status, second.status]).toEqual([200, 200]);
    const { customerId } = await ensureCustomer(orgId);
    const open = (await stripe.checkout.sessions.list({ customer: customerId, status: "open" })).data;
    // The top-up's and the newest plan's: the first plan's was expired by the second.
    expect(open.map((s) => s.mode).sort()).toEqual(["payment", "subscription"]);
    expect((await stripe.checkout.sessions.retrieve(topUp.body.data.sessionId)).status).toBe("open");
  });
});

describe("bad input changes nothing", () => {
  test("no key, an unknown or unpacked metric, packs out of range: 400, no request remembered, no Stripe customer", async () => {
    const orgId = await newOrg();
    const call = await billing(orgId);
    const cases = [
      [{ metric: "api_call", packs: 1 }, {}],
      [{ metric: "seats", packs: 1 }, { "idempotency-key": "k1" }],
      [{ metric: "api_call", packs: 0 }, { "idempotency-key": "k2" }],
      [{ metric: "api_call", packs: 101 }, { "idempotency-key": "k3" }],
      [{ metric: "api_call", packs: 1.5 }, { "idempotency-key": "k4" }],
      [{ metric: "api_call", packs: 1 }, { "idempotency-key": "bad key!" }],
    ] as const;
    for (const [body, headers] of cases) {
      const r = await call("POST", "top-ups", body, headers);
      expect([r.status, r.body.error.code]).toEqual([400, "VALIDATION_FAILED"]);
    }
    expect(await sql`select 1 from billing_requests where org_id = ${orgId}`).toHaveLength(0);
    expect((await sql`select stripe_customer_id from organisations where id = ${orgId}`)[0].stripe_customer_id).toBeNull();
  });
});

describe("the auto top-up charge", () => {
  test("one run charged three times (two at once): one invoice, one grant, the same grant id", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const run = { id: `run_${crypto.randomUUID().slice(0, 8)}`, orgId, metric: "api_call", packs: 2 };
    const [a, b] = await Promise.all([chargeAutoTopUp(run), chargeAutoTopUp(run)]);
    const c = await chargeAutoTopUp(run);
    expect([b, c]).toEqual([a, a]);
    const grantId = a.ok ? a.grantId : null;
    expect(grantId?.startsWith("cg_")).toBe(true);
    const invoices = await topUpInvoices(orgId);
    expect(invoices.map((i) => [i.metadata?.source, i.total, i.status])).toEqual([["auto_top_up", 2000, "paid"]]);
    await billingSettled(system);
    expect((await grantsOf(orgId)).map((g) => [g.id, g.source, g.units])).toEqual([[grantId ?? "", "auto_top_up", 20_000]]);
  });

  test("a declined card and no card answer ok: false; autoTopUpFailed emails the org", async () => {
    const declined = await newOrg();
    await subscribeThroughStripe(declined, "starter", "fails");
    expect(await chargeAutoTopUp({ id: "run_declined", orgId: declined, metric: "api_call", packs: 1 })).toEqual({
      ok: false,
      reason: "Your card was declined.",
    });
    const noCard = await newOrg();
    expect(await chargeAutoTopUp({ id: "run_nocard", orgId: noCard, metric: "api_call", packs: 1 })).toEqual({
      ok: false,
      reason: "The organisation has no saved card to charge.",
    });
    expect(await topUpInvoices(noCard)).toEqual([]);
    // A pack the catalog does not sell fails for good (the job must not retry it forever).
    expect(await chargeAutoTopUp({ id: "run_nopack", orgId: noCard, metric: "seats", packs: 1 })).toEqual({
      ok: false,
      reason: '"seats" has no top-up pack (packs are sold for api_call, tokens).',
    });
    expect(await grantsOf(declined)).toHaveLength(0);
    await autoTopUpFailed(declined, "api_call", "Your card was declined.");
    const mail = await until(
      async () => (await sql`select to_address, subject, text_body from email_outbox where org_id = ${declined} and subject like '%top-up%'`)[0],
      15_000,
    );
    expect(mail.to_address).toBe("owner@example.com");
    expect(mail.subject).toContain("automatic top-up of api_call failed and was turned off");
    expect(mail.text_body).toContain("Your card was declined.");
    expect(mail.text_body).toContain("/billing/top-ups?metric=api_call");
  });
});

describe("the portal", () => {
  const page = (cookie: string, path: string, route: string) =>
    fetch(`${system.app.url}${path}${path.includes("?") ? "&" : "?"}_data=${route}`, { headers: { cookie }, redirect: "manual" });
  const buy = (cookie: string, form: Record<string, string>) =>
    fetch(`${system.app.url}/billing/top-ups?_data=routes/_portal.billing_.top-ups`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie, origin: system.app.url, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ intent: "buy", ...form }),
    });

  test("the page shows the pack, its price and the saved card; Buy charges it; the billing page lists the credits", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const cookie = await signIn(system.app, orgId);
    const data = await (await page(cookie, "/billing/top-ups?metric=tokens", "routes/_portal.billing_.top-ups")).json();
    expect(data.metric).toBe("tokens");
    expect(data.packs).toContainEqual({ metric: "api_call", units: PACK.units, priceCents: PACK.priceCents, currency: "usd" });
    expect(data.card).toEqual({ state: "saved", brand: "visa", last4: "4242" });
    // The page itself renders them: the pack, its exact price, the card.
    const rendered = async (path: string) => (await (await fetch(`${system.app.url}${path}`, { headers: { cookie } })).text()).replaceAll("<!-- -->", "");
    const html = await rendered("/billing/top-ups?metric=api_call");
    for (const text of ["Buy credits", "10,000 api_call per pack", "$10.00", "Charged at once to your visa card ending 4242."]) expect(html).toContain(text);
    const form = { metric: "api_call", packs: "2", idempotencyKey: data.idempotencyKey };
    const [first, second] = [await buy(cookie, form), await buy(cookie, form)];
    expect(first.status).toBe(200);
    const answer = await first.json();
    expect(answer.message).toContain("Bought 20,000 api_call credits for $20.00");
    expect(await second.json()).toEqual(answer);
    expect(await topUpInvoices(orgId)).toHaveLength(1);
    const billingPage = await (await page(cookie, "/billing", "routes/_portal.billing")).json();
    expect(billingPage.credits.map((c: any) => [c.metric, c.remaining, c.grants.length])).toEqual([["api_call", 20_000, 1]]);
    expect(await rendered("/billing")).toContain("api_call: 20,000 remaining");
  });

  test("without a card Buy goes to Checkout, and its return grants before any webhook", async () => {
    const orgId = await newOrg();
    const cookie = await signIn(system.app, orgId);
    system.local.setDeliveries("paused");
    try {
      const to = await buy(cookie, { metric: "api_call", packs: "1", idempotencyKey: "portal-checkout" });
      const checkoutUrl = to.headers.get("x-remix-redirect");
      expect(checkoutUrl).toContain("/checkout/cs_");
      const paid = await fetch(checkoutUrl!, { method: "POST", body: new URLSearchParams({ card: "4242424242424242" }), redirect: "manual" });
      const back = new URL(paid.headers.get("location")!);
      const returned = await page(cookie, `${back.pathname}${back.search}`, "routes/_portal.billing_.top-ups");
      expect(returned.headers.get("x-remix-redirect")).toBe("/billing/top-ups?metric=api_call&checkout=success");
      expect((await grantsOf(orgId)).map((g) => [g.units, g.source_id.slice(0, 3)])).toEqual([[10_000, "cs_"]]);
    } finally {
      system.local.setDeliveries("on");
    }
    await billingSettled(system);
    expect(await grantsOf(orgId)).toHaveLength(1);
    expect(await grantedEvents(orgId)).toHaveLength(1);
  });
});
