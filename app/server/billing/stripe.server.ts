// The Stripe client (the real one when STRIPE_SECRET_KEY is set, the local Stripe otherwise,
// through the same SDK; its deadlines and breaker: stripe-client.server.ts), prices, customers,
// Checkout and the portal, test cards and clocks.
// Only billing/ talks to Stripe: this client is used by the stripe*.server.ts modules here (and
// schedules.server.ts); stripe-subscriptions.server.ts reads and changes subscriptions and
// invoices, stripe-meter.server.ts reports usage. Stripe objects are converted to the system's
// own shapes and never passed around raw. Never called from the hot path (quota check, usage record).

import { createHash, createHmac } from "node:crypto";
import { eq } from "drizzle-orm";
import Stripe from "stripe";
import { isLive } from "../../subscription-status";
import { setStripeCustomer } from "../orgs/orgs.server";
import { config } from "../platform/config.server";
import { db, schema } from "../platform/db.server";
import { AppError, NotFound } from "../platform/errors.server";
import { LOCAL_WEBHOOK_SECRET } from "../platform/local-stripe";
import { noteGoneCustomer } from "./customer-gone.server";
import { oncePerKey } from "./idempotency.server";
import { activeCatalog, configuredPriceId, listPlans, type Plan, type PlanCode, planByCode, refreshCatalog, setStripePriceId } from "./plans.server";
import { stripe } from "./stripe-client.server";
import { isStripeUnavailable, noteStripeResponse } from "./stripe-errors.server";
import { requestKey } from "./stripe-keys.server";
import { flatItemOf, overagePricesFor } from "./stripe-overage.server";

export { callerDeadline, stripe, stripeBreaker } from "./stripe-client.server";
export { isStripeUnavailable, upstream } from "./stripe-errors.server";
export { LOCAL_WEBHOOK_SECRET };
export const webhookSecret = config.STRIPE_WEBHOOK_SECRET ?? LOCAL_WEBHOOK_SECRET;

stripe.on("response", noteStripeResponse);

/**
 * The billing mode of every subscription the app makes. The pinned API version (after
 * 2025-09-30.clover) makes new subscriptions `flexible` unless told; the app's prorations and
 * previews are Stripe's classic ones (the local Stripe computes those and refuses the rest).
 */
const BILLING_MODE = { type: "classic" } as const;

/** New customers go on test clocks only when asked (STRIPE_TEST_CLOCKS; on by default for the local Stripe). */
export const usesTestClocks = config.testClocks;

// ---- prices ---------------------------------------------------------------------------------

/** The lookup key a plan's price is found by (when the catalog names no `stripePriceIds`); `_year` for its yearly price. */
export const lookupKey = (code: string, interval: PriceInterval = "month") => `metered_plan_${code}${interval === "year" ? "_year" : ""}`;
export type PriceInterval = "month" | "year";

/** What a plan's price must be: its amount, currency and interval. */
export type PriceTerms = { code: string; name: string; currency: string; amount: number; interval: PriceInterval };

/** The price the app creates for a plan in test mode; in live mode an operator creates it (ops stripe:check prints this). */
export const planPriceParams = (plan: Plan, interval: PriceInterval = "month") =>
  priceParams({
    code: plan.code,
    name: plan.name,
    currency: plan.currency,
    amount: interval === "year" ? (plan.priceYearly ?? 0) : plan.priceMonthly,
    interval,
  });

const priceParams = (t: PriceTerms) =>
  ({
    currency: t.currency,
    unit_amount: t.amount,
    recurring: { interval: t.interval },
    lookup_key: lookupKey(t.code, t.interval),
    product_data: { name: `Metered ${t.name}` },
    metadata: { plan_code: t.code },
  }) satisfies Stripe.PriceCreateParams;

/**
 * The Stripe price that bills `terms`: the configured one (`stripePriceIds`) if given; else the
 * one holding the lookup key, if it bills the same amount; else, in test mode and locally, a new
 * price (Stripe's prices are immutable) that takes the lookup key over (`transfer_lookup_key`),
 * the old one still billing the subscriptions on it. In live mode a missing or outdated price is
 * an error naming it.
 */
export async function findOrMakePrice(terms: PriceTerms, configured?: string): Promise<string> {
  if (configured) return configured;
  const key = lookupKey(terms.code, terms.interval);
  const [found] = (await stripe.prices.list({ lookup_keys: [key], active: true, limit: 1 })).data;
  if (found && billsTerms(found, terms)) return found.id;
  const what = found
    ? `Stripe price ${found.id} (lookup key ${key}) no longer bills plan ${terms.code}`
    : `No Stripe price for plan ${terms.code}${terms.interval === "year" ? " (yearly)" : ""}`;
  if (config.stripeMode === "live") throw new Error(`${what}: set stripePriceIds.${terms.interval} of the plan in the catalog`);
  const params: Stripe.PriceCreateParams = { ...priceParams(terms), ...(found ? { transfer_lookup_key: true } : {}) };
  return (await stripe.prices.create(params, { idempotencyKey: requestKey(`price:${key}`, params) })).id;
}

// The whole catalog or nothing: readers await the one load in flight (a half-filled map would
// answer "no price" for a plan not read yet, and the worker would clear a pending downgrade).
// Loaded again when the process moves to a newer catalog version.
/** `yearMissing`: in live mode, a yearly price not made yet (the error naming it); monthly billing goes on without it. */
type PriceIds = { month: ReadonlyMap<PlanCode, string>; year: ReadonlyMap<PlanCode, string>; yearMissing: ReadonlyMap<PlanCode, Error> };
let prices: { version: number | null; ids: Promise<PriceIds> } | null = null;

/**
 * The monthly Stripe price of each plan that owns one (trial bills its `priceOf`), found or made
 * by findOrMakePrice. Loaded once per process and catalog version, by the first caller; every
 * caller meanwhile waits for that load, and a load that fails is forgotten, so the next caller
 * tries again. The yearly prices (plans with a yearly price) load with them.
 */
export async function ensurePrices(): Promise<ReadonlyMap<PlanCode, string>> {
  return (await ensurePriceIds()).month;
}

function ensurePriceIds(): Promise<PriceIds> {
  const version = activeCatalog().version;
  if (prices?.version !== version) {
    const load = loadPrices().catch((err) => {
      if (prices?.ids === load) prices = null;
      throw err;
    });
    prices = { version, ids: load };
  }
  return prices.ids;
}

async function loadPrices(): Promise<PriceIds> {
  const ids = new Map<PlanCode, string>();
  const yearly = new Map<PlanCode, string>();
  for (const plan of listPlans().filter((p) => p.billedAs === p.code)) {
    const id = await findOrMakePrice(
      { code: plan.code, name: plan.name, currency: plan.currency, amount: plan.priceMonthly, interval: "month" },
      configuredPriceId(plan.code, "month"),
    );
    ids.set(plan.code, id);
    await setStripePriceId(plan.code, id);
  }
  for (const plan of listPlans().filter((p) => p.billedAs !== p.code)) {
    await setStripePriceId(plan.code, ids.get(plan.billedAs));
  }
  const yearMissing = new Map<PlanCode, Error>();
  for (const plan of listPlans().filter((p) => p.billedAs === p.code && p.priceYearly !== null)) {
    const terms = { code: plan.code, name: plan.name, currency: plan.currency, amount: plan.priceYearly!, interval: "year" as const };
    try {
      yearly.set(plan.code, await findOrMakePrice(terms, configuredPriceId(plan.code, "year")));
    } catch (err) {
      // Live mode makes no prices: a yearly one an operator has not created yet stops yearly billing only.
      if (config.stripeMode !== "live" || isStripeUnavailable(err)) throw err;
      yearMissing.set(plan.code, err as Error);
    }
  }
  return { month: ids, year: yearly, yearMissing };
}

/** Whether a Stripe price bills what the plan says: its amount and currency, each interval. */
const billsTerms = (price: Stripe.Price, t: { currency: string; amount: number; interval: PriceInterval }) =>
  price.unit_amount === t.amount && price.currency === t.currency && price.recurring?.interval === t.interval && price.recurring.interval_count === 1;

/** The Stripe price that bills a plan per month, or per year (VALIDATION_FAILED for a plan sold without a yearly price). */
export async function priceOf(code: PlanCode, interval: PriceInterval = "month"): Promise<string> {
  const plan = planByCode(code);
  if (!plan) throw new AppError("VALIDATION_FAILED", `Unknown plan "${code}".`);
  const ids = await ensurePriceIds();
  const id = ids[interval].get(plan.billedAs);
  const missing = interval === "year" ? ids.yearMissing.get(plan.billedAs) : undefined;
  if (missing) throw missing;
  if (!id && interval === "year")
    throw new AppError("VALIDATION_FAILED", `${plan.name} has no yearly price.`, { issues: [{ path: "interval", message: "no yearly price for this plan" }] });
  if (!id) throw new Error(`no price for ${plan.billedAs}`);
  return id;
}

/**
 * The plan a Stripe price and status stand for: a trialing starter subscription is `trial`. A
 * plan's earlier price (its amount changed since; subscriptions stay on it) is known by the
 * `plan_code` the app stamps on its prices.
 */
export async function planOfPrice(priceId: string, status: string): Promise<PlanCode | null> {
  const known = await ensurePriceIds();
  let code = [...known.month, ...known.year].find(([, id]) => id === priceId)?.[0] ?? (await earlierPlanPrice(priceId));
  if (!code) return null;
  const trial = listPlans().find((p) => p.trialDays && p.billedAs === code);
  if (status === "trialing" && trial) code = trial.code;
  return code;
}

/** The interval a plan's price bills (a current catalog's, else Stripe's own word for an earlier one). */
export async function intervalOfPrice(priceId: string): Promise<"month" | "year"> {
  const known = await ensurePriceIds();
  if ([...known.year.values()].includes(priceId)) return "year";
  if ([...known.month.values()].includes(priceId)) return "month";
  const price = await stripe.prices.retrieve(priceId);
  return price.recurring?.interval === "year" ? "year" : "month";
}

const earlierPrices = new Map<string, PlanCode | null>();
async function earlierPlanPrice(priceId: string): Promise<PlanCode | null> {
  if (!earlierPrices.has(priceId)) {
    const price = await stripe.prices.retrieve(priceId);
    const plan = planByCode(price.metadata?.plan_code ?? "");
    earlierPrices.set(priceId, plan && plan.billedAs === plan.code ? plan.code : null);
  }
  return earlierPrices.get(priceId)!;
}

// ---- customers --------------------------------------------------------------------------------

export const isResourceMissing = (err: unknown) => err instanceof Stripe.errors.StripeError && err.code === "resource_missing";

/**
 * Why Stripe no longer has the org's customer, or null while it does. Stripe answers a deleted
 * customer `deleted: true`; one deleted with its test clock (at the clock's `deletes_after`) may
 * be missing altogether, which the clock's own absence vouches for. Missing with no such sign is
 * not taken as deleted (a key of another account looks the same): an error, and nothing changes.
 */
async function whyCustomerGone(org: StoredCustomer): Promise<string | null> {
  try {
    return (await stripe.customers.retrieve(org.stripeCustomerId)).deleted ? "deleted" : null;
  } catch (err) {
    if (!isResourceMissing(err)) throw err;
  }
  const clock = org.stripeTestClockId;
  const clockGone = async (id: string) => {
    try {
      await stripe.testHelpers.testClocks.retrieve(id);
      return false;
    } catch (err) {
      if (isResourceMissing(err)) return true;
      throw err;
    }
  };
  if (clock && (await clockGone(clock))) return "deleted with its test clock";
  throw new Error(
    `Stripe has no customer ${org.stripeCustomerId} (organisation ${org.id}) and does not say it was deleted: is STRIPE_SECRET_KEY the key of the account it was made in? Nothing was changed.`,
  );
}

type StoredCustomer = { id: string; stripeCustomerId: string; stripeTestClockId: string | null };

/** Whether Stripe deleted the org's stored customer; if so the loss is noted (noteGoneCustomer: the mirror ends). */
export async function customerGone(org: StoredCustomer): Promise<boolean> {
  const reason = await whyCustomerGone(org);
  if (reason) await noteGoneCustomer({ orgId: org.id, customerId: org.stripeCustomerId, testClockId: org.stripeTestClockId, reason });
  return reason !== null;
}

/**
 * The org's Stripe customer, created on first use (on its own test clock when test clocks are on),
 * and made again if Stripe has deleted it (noteGoneCustomer ends the mirror first). Made once per
 * org and customer it replaces: a request that finds it being made waits for it and answers the
 * same; after a failed attempt, the next makes it afresh. Each key digests its body: a retry's
 * clock starts at its own `frozen_time`, and its customer names that clock.
 */
export async function ensureCustomer(orgId: string): Promise<{ customerId: string; testClockId: string | null }> {
  const [org] = await db.select().from(schema.organisations).where(eq(schema.organisations.id, orgId));
  if (!org) throw NotFound("Organisation");
  const replaced = org.stripeCustomerId;
  if (replaced && !(await customerGone({ ...org, stripeCustomerId: replaced }))) return { customerId: replaced, testClockId: org.stripeTestClockId };
  const after = replaced ? `:after:${replaced}` : "";
  return oncePerKey({ orgId, key: `stripe:customer${after}`, scope: "stripe:customer" }, async () => {
    let clock: Stripe.TestHelpers.TestClock | null = null;
    if (usesTestClocks) {
      const params: Stripe.TestHelpers.TestClockCreateParams = { frozen_time: Math.floor(Date.now() / 1000), name: orgId };
      clock = await stripe.testHelpers.testClocks.create(params, { idempotencyKey: requestKey(`clock:${orgId}${after}`, params) });
    }
    const params: Stripe.CustomerCreateParams = {
      name: org.name,
      email: org.ownerEmail ?? undefined,
      metadata: { org_id: orgId },
      test_clock: clock?.id,
    };
    const customer = await stripe.customers.create(params, { idempotencyKey: requestKey(`customer:${orgId}${after}`, params) });
    await setStripeCustomer(orgId, customer.id, clock?.id ?? null);
    return { customerId: customer.id, testClockId: clock?.id ?? null };
  });
}

const toDate = (s: number) => new Date(s * 1000);

// ---- checkout, portal -------------------------------------------------------------------------

/**
 * The org's one open Checkout session for the plan. Every other open session of the customer is
 * expired once this one exists, as Stripe recommends: two open sessions for two plans could both
 * be paid, leaving two subscriptions billed every month. A retry (same key) answers the same
 * session; if another plan's checkout has expired it since, a fresh one is made under a key
 * derived from the expired one, so a retry of that gets the same fresh session again.
 */
export async function createCheckoutSession(input: {
  orgId: string;
  planCode: PlanCode;
  interval?: PriceInterval;
  successUrl: string;
  cancelUrl: string;
  idempotencyKey: string;
}): Promise<string> {
  const plan = planByCode(input.planCode)!;
  const { customerId } = await ensureCustomer(input.orgId);
  const price = await priceOf(plan.code, input.interval);
  // The plan's overage prices ride along as metered items (Stripe takes them without a quantity).
  const metered = await overagePricesFor(plan.code, input.interval);
  const params: Stripe.Checkout.SessionCreateParams = {
    mode: "subscription",
    customer: customerId,
    client_reference_id: input.orgId,
    line_items: [{ price, quantity: 1 }, ...metered.map((m) => ({ price: m.priceId }))],
    subscription_data: { metadata: { org_id: input.orgId }, billing_mode: BILLING_MODE, ...(plan.trialDays ? { trial_period_days: plan.trialDays } : {}) },
    metadata: { org_id: input.orgId, plan_code: plan.code },
    success_url: input.successUrl,
    cancel_url: input.cancelUrl,
  };
  let prefix = input.idempotencyKey;
  // Each pass is another plan's checkout in between; a handful is more than a person makes.
  for (let attempt = 0; attempt < 5; attempt++) {
    const session = await stripe.checkout.sessions.create(params, { idempotencyKey: requestKey(prefix, params) });
    if (!session.url) throw new Error("checkout session without url");
    // Expiring every other one (not just the older ones) keeps at most one payable even when two
    // plans are asked for at once; the loser's next click gets a fresh session. Only plans'
    // checkouts: a top-up's (mode payment) buys credits beside any plan, and stays payable.
    const open = await stripe.checkout.sessions.list({ customer: customerId, status: "open", limit: 100 }).autoPagingToArray({ limit: 10_000 });
    for (const other of open) if (other.id !== session.id && other.mode === "subscription") await expireCheckoutSession(other.id);
    const ours = open.some((o) => o.id === session.id);
    // A replay answers the session as it was made; if it is no longer open, ask Stripe why.
    if (ours || (await stripe.checkout.sessions.retrieve(session.id)).status !== "expired") return session.url;
    prefix = `${input.idempotencyKey}:after:${session.id}`;
  }
  throw new Error("checkout kept being expired by other checkouts of the same customer");
}

/**
 * A live subscription Stripe holds for the org, whatever the mirror says: the mirror lags by a
 * webhook, and a checkout in that gap would start a second subscription.
 */
export async function liveStripeSubscription(orgId: string): Promise<{ planCode: PlanCode | null; status: string } | null> {
  const { customerId } = await ensureCustomer(orgId);
  const subs = await stripe.subscriptions.list({ customer: customerId, status: "all", limit: 100 }).autoPagingToArray({ limit: 10_000 });
  const live = subs.find((s) => isLive(s.status));
  if (!live) return null;
  const priceId = flatItemOf(live)?.price.id;
  return { planCode: priceId ? await planOfPrice(priceId, live.status) : null, status: live.status };
}

/** Expires an open session; one completed or expired meanwhile is left as it is. */
async function expireCheckoutSession(id: string): Promise<void> {
  try {
    await stripe.checkout.sessions.expire(id);
  } catch (err) {
    // Stripe refuses (400) a session that is no longer open: it was paid or expired since the list.
    if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 400) return;
    throw err;
  }
}

/** A portal session on `configuration` (the app's, portal.server.ts: Stripe has no usable default). */
export async function createPortalSession(input: { orgId: string; returnUrl: string; configuration: string }): Promise<string> {
  const { customerId } = await ensureCustomer(input.orgId);
  const session = await stripe.billingPortal.sessions.create({ customer: customerId, return_url: input.returnUrl, configuration: input.configuration });
  return session.url;
}

// ---- ops: subscribe with a test card, advance a test clock -------------------------------------

/** Subscribes the org through Stripe with a test card (test mode and local only). */
export type TestCard = "visa" | "declined" | "fails";
const TEST_CARDS: Record<TestCard, string> = { visa: "pm_card_visa", declined: "pm_card_chargeDeclined", fails: "pm_card_chargeCustomerFail" };

/** Subscribes the org through Stripe with a test card: `declined` is refused at attach, `fails` attaches and fails every charge. */
export async function subscribeWithTestCard(input: { orgId: string; planCode: PlanCode; card?: TestCard; interval?: PriceInterval }): Promise<string> {
  if (config.stripeMode === "live") throw new AppError("FORBIDDEN", "Test cards exist only in test mode.");
  await refreshCatalog();
  const plan = planByCode(input.planCode);
  if (!plan) throw new AppError("VALIDATION_FAILED", `Unknown plan "${input.planCode}".`);
  const { customerId } = await ensureCustomer(input.orgId);
  const pm = await stripe.paymentMethods.attach(TEST_CARDS[input.card ?? "visa"], { customer: customerId });
  await stripe.customers.update(customerId, { invoice_settings: { default_payment_method: pm.id } });
  const sub = await stripe.subscriptions.create({
    billing_mode: BILLING_MODE,
    customer: customerId,
    items: [{ price: await priceOf(plan.code, input.interval) }, ...(await overagePricesFor(plan.code, input.interval)).map((m) => ({ price: m.priceId }))],
    default_payment_method: pm.id,
    payment_behavior: "allow_incomplete",
    metadata: { org_id: input.orgId },
    ...(plan.trialDays ? { trial_period_days: plan.trialDays } : {}),
  });
  return sub.id;
}

export async function advanceTestClock(orgId: string, seconds: number): Promise<{ clockId: string; frozenTime: Date }> {
  const [org] = await db.select().from(schema.organisations).where(eq(schema.organisations.id, orgId));
  if (!org) throw NotFound("Organisation");
  if (!org.stripeTestClockId)
    throw new AppError(
      "VALIDATION_FAILED",
      usesTestClocks
        ? "This organisation's Stripe customer was made while test clocks were off, so it is on no test clock: only customers made with STRIPE_TEST_CLOCKS=on can be moved in time."
        : "Test clocks are off (STRIPE_TEST_CLOCKS=off, or a Stripe key without STRIPE_TEST_CLOCKS=on): this organisation's Stripe customer is on no test clock. Set STRIPE_TEST_CLOCKS=on (test mode only) for new customers to get one.",
    );
  const clock = await stripe.testHelpers.testClocks.retrieve(org.stripeTestClockId);
  const target = clock.frozen_time + seconds;
  await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: target });
  for (let i = 0; i < 600; i++) {
    const now = await stripe.testHelpers.testClocks.retrieve(clock.id);
    if (now.status === "ready") return { clockId: clock.id, frozenTime: toDate(now.frozen_time) };
    if (now.status === "internal_failure") throw new Error("the test clock failed to advance");
    await Bun.sleep(100);
  }
  throw new Error("the test clock did not finish advancing within 60 s");
}

/**
 * The SDK's signature check, computing its HMAC with node:crypto: under Bun the SDK resolves to its
 * worker build, whose Web Crypto provider cost about twice as much per event (measured in a storm's
 * intake). The same computation as the SDK's own Node provider.
 */
class NodeHmac extends Stripe.CryptoProvider {
  computeHMACSignature(payload: string, secret: string): string {
    return createHmac("sha256", secret).update(payload, "utf8").digest("hex");
  }
  async computeHMACSignatureAsync(payload: string, secret: string): Promise<string> {
    return this.computeHMACSignature(payload, secret);
  }
  async computeSHA256Async(data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(createHash("sha256").update(data).digest());
  }
}
const signatures = new NodeHmac();

export async function verifyWebhook(rawBody: string, signature: string): Promise<Stripe.Event> {
  return stripe.webhooks.constructEventAsync(rawBody, signature, webhookSecret, 300, signatures);
}

export type StripeEvent = Stripe.Event;
