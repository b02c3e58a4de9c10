// The one module that talks to Stripe (the real one when STRIPE_SECRET_KEY is set, the local
// Stripe otherwise, through the same SDK). Stripe objects are converted to the system's own
// shapes here and never passed around raw. Never called from the hot path (quota check, usage record).
import Stripe from "stripe";
import { eq } from "drizzle-orm";
import { config } from "../platform/config.server";
import { db, schema } from "../platform/db.server";
import { AppError, NotFound } from "../platform/errors.server";
import { listPlans, planByCode, type PlanCode } from "./plans.server";
import { observeStripe } from "../observe/metrics.server";

import { LOCAL_WEBHOOK_SECRET } from "./local-stripe";

export { LOCAL_WEBHOOK_SECRET };
export const webhookSecret = config.STRIPE_WEBHOOK_SECRET ?? LOCAL_WEBHOOK_SECRET;

export const stripe = config.STRIPE_SECRET_KEY
  ? new Stripe(config.STRIPE_SECRET_KEY, { timeout: 10_000, maxNetworkRetries: 2 })
  : new Stripe("sk_test_local", { host: "127.0.0.1", port: config.STRIPE_LOCAL_PORT, protocol: "http", timeout: 10_000, maxNetworkRetries: 1 });
stripe.on("response", (r: Stripe.ResponseEvent) => observeStripe(r.status < 400 ? "ok" : r.status < 500 ? "client_error" : "server_error"));

/** Test clocks exist in test mode and on the local Stripe, never in live mode. */
export const usesTestClocks = config.stripeMode !== "live";

/** Stripe could not be reached or failed on its side (a connection error or a 5xx). */
export function isStripeUnavailable(err: unknown): boolean {
  return (
    err instanceof Stripe.errors.StripeConnectionError ||
    err instanceof Stripe.errors.StripeAPIError ||
    (err instanceof Stripe.errors.StripeError && (err.statusCode ?? 0) >= 500) ||
    (err instanceof AppError && err.code === "UPSTREAM_UNAVAILABLE")
  );
}

/** Runs a Stripe call; an outage or a 5xx becomes UPSTREAM_UNAVAILABLE (503), not a 500. */
export async function upstream<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof Stripe.errors.StripeConnectionError) observeStripe("network_error");
    if (isStripeUnavailable(err)) throw new AppError("UPSTREAM_UNAVAILABLE", "Billing is briefly unavailable; please try again in a moment.");
    throw err;
  }
}

// ---- prices ---------------------------------------------------------------------------------

const lookupKey = (code: string) => `metered_plan_${code}`;
const priceIds = new Map<PlanCode, string>();

/**
 * The Stripe price of each plan that owns one (trial bills its `priceOf`). A configured
 * `stripePriceId` wins; otherwise found by lookup key, and created in test mode / locally.
 */
export async function ensurePrices(): Promise<Map<PlanCode, string>> {
  if (priceIds.size > 0) return priceIds;
  for (const plan of listPlans().filter((p) => p.billedAs === p.code)) {
    const configured = config.PLANS_CONFIG[plan.code]?.stripePriceId;
    let id = configured;
    if (!id) {
      const found = await stripe.prices.list({ lookup_keys: [lookupKey(plan.code)], active: true, limit: 1 });
      id = found.data[0]?.id;
    }
    if (!id) {
      if (config.stripeMode === "live") throw new Error(`No Stripe price for plan ${plan.code}: set stripePriceId in PLANS_CONFIG`);
      const price = await stripe.prices.create(
        {
          currency: plan.currency,
          unit_amount: plan.priceMonthly,
          recurring: { interval: "month" },
          lookup_key: lookupKey(plan.code),
          product_data: { name: `Metered ${plan.name}` },
          metadata: { plan_code: plan.code },
        },
        { idempotencyKey: `price-${lookupKey(plan.code)}-${plan.priceMonthly}-${plan.currency}` },
      );
      id = price.id;
    }
    priceIds.set(plan.code, id);
    await db.update(schema.plans).set({ stripePriceId: id }).where(eq(schema.plans.code, plan.code));
  }
  for (const plan of listPlans().filter((p) => p.billedAs !== p.code)) {
    await db
      .update(schema.plans)
      .set({ stripePriceId: priceIds.get(plan.billedAs) })
      .where(eq(schema.plans.code, plan.code));
  }
  return priceIds;
}

export async function priceOf(code: PlanCode): Promise<string> {
  const plan = planByCode(code);
  if (!plan) throw new AppError("VALIDATION_FAILED", `Unknown plan "${code}".`);
  const id = (await ensurePrices()).get(plan.billedAs);
  if (!id) throw new Error(`no price for ${plan.billedAs}`);
  return id;
}

/** The plan a Stripe price and status stand for: a trialing starter subscription is `trial`. */
export async function planOfPrice(priceId: string, status: string): Promise<PlanCode | null> {
  for (const [code, id] of await ensurePrices()) {
    if (id !== priceId) continue;
    const trial = listPlans().find((p) => p.trialDays && p.billedAs === code);
    return status === "trialing" && trial ? trial.code : code;
  }
  return null;
}

// ---- customers --------------------------------------------------------------------------------

/** The org's Stripe customer, created on first use (on its own test clock outside live mode). */
export async function ensureCustomer(orgId: string): Promise<{ customerId: string; testClockId: string | null }> {
  const [org] = await db.select().from(schema.organisations).where(eq(schema.organisations.id, orgId));
  if (!org) throw NotFound("Organisation");
  if (org.stripeCustomerId) return { customerId: org.stripeCustomerId, testClockId: org.stripeTestClockId };
  const clock = usesTestClocks
    ? await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.now() / 1000), name: orgId }, { idempotencyKey: `clock-${orgId}` })
    : null;
  const customer = await stripe.customers.create(
    { name: org.name, email: org.ownerEmail ?? undefined, metadata: { org_id: orgId }, test_clock: clock?.id },
    { idempotencyKey: `customer-${orgId}` },
  );
  await db
    .update(schema.organisations)
    .set({ stripeCustomerId: customer.id, stripeTestClockId: clock?.id ?? null })
    .where(eq(schema.organisations.id, orgId));
  return { customerId: customer.id, testClockId: clock?.id ?? null };
}

// ---- subscriptions ----------------------------------------------------------------------------

export type SubscriptionState = {
  id: string;
  customerId: string;
  orgId: string | null;
  status: string;
  priceId: string;
  itemId: string;
  periodStart: Date;
  periodEnd: Date;
  trialEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  /** The subscription schedule attached to it, when one is open. */
  scheduleId: string | null;
  /** The price the schedule's next phase moves to at the period end (a pending downgrade). */
  scheduledPriceId: string | null;
  /** The schedule has applied its last phase change: it has nothing left to do and can be released. */
  scheduleApplied: boolean;
};

const toDate = (s: number) => new Date(s * 1000);

const priceIdOf = (p: string | Stripe.Price | Stripe.DeletedPrice) => (typeof p === "string" ? p : p.id);

export function subscriptionState(sub: Stripe.Subscription): SubscriptionState {
  const item = sub.items.data[0];
  if (!item) throw new Error(`subscription ${sub.id} has no item`);
  const schedule = sub.schedule && typeof sub.schedule === "object" && ["active", "not_started"].includes(sub.schedule.status) ? sub.schedule : null;
  const current = schedule?.phases.findIndex((p) => p.start_date === schedule.current_phase?.start_date) ?? -1;
  const next = schedule?.phases[current + 1];
  return {
    id: sub.id,
    customerId: typeof sub.customer === "string" ? sub.customer : sub.customer.id,
    orgId: sub.metadata?.org_id ?? null,
    status: sub.status,
    priceId: item.price.id,
    itemId: item.id,
    // Since API 2025-03-31 the period lives on the subscription item.
    periodStart: toDate(item.current_period_start),
    periodEnd: toDate(item.current_period_end),
    trialEnd: sub.trial_end ? toDate(sub.trial_end) : null,
    cancelAtPeriodEnd: sub.cancel_at_period_end,
    scheduleId: typeof sub.schedule === "string" ? sub.schedule : (sub.schedule?.id ?? null),
    scheduledPriceId: next ? priceIdOf(next.items[0].price) : null,
    scheduleApplied: Boolean(schedule && current > 0 && !next),
  };
}

export async function retrieveSubscription(id: string): Promise<SubscriptionState> {
  return subscriptionState(await stripe.subscriptions.retrieve(id, { expand: ["schedule"] }));
}

// ---- invoices ---------------------------------------------------------------------------------

export type InvoiceState = {
  id: string;
  customerId: string;
  subscriptionId: string | null;
  number: string | null;
  status: string;
  billingReason: string | null;
  currency: string;
  amountDue: number;
  amountPaid: number;
  total: number;
  periodStart: Date | null;
  periodEnd: Date | null;
  hostedInvoiceUrl: string | null;
  invoicePdf: string | null;
  created: Date;
};

function invoiceState(inv: Stripe.Invoice): InvoiceState {
  const sub = inv.parent?.subscription_details?.subscription ?? null;
  // The service period is on the lines (the invoice's own period is the previous one for renewals).
  const line = inv.lines?.data?.find((l) => l.period) ?? null;
  return {
    id: inv.id!,
    customerId: typeof inv.customer === "string" ? inv.customer : inv.customer!.id,
    subscriptionId: sub === null ? null : typeof sub === "string" ? sub : sub.id,
    number: inv.number,
    status: inv.status ?? "draft",
    billingReason: inv.billing_reason,
    currency: inv.currency,
    amountDue: inv.amount_due,
    amountPaid: inv.amount_paid,
    total: inv.total,
    periodStart: line ? toDate(line.period.start) : null,
    periodEnd: line ? toDate(line.period.end) : null,
    hostedInvoiceUrl: inv.hosted_invoice_url ?? null,
    invoicePdf: inv.invoice_pdf ?? null,
    created: toDate(inv.created),
  };
}

export async function retrieveInvoice(id: string): Promise<InvoiceState> {
  return invoiceState(await stripe.invoices.retrieve(id));
}

// ---- checkout, portal -------------------------------------------------------------------------

export async function createCheckoutSession(input: {
  orgId: string;
  planCode: PlanCode;
  successUrl: string;
  cancelUrl: string;
  idempotencyKey: string;
}): Promise<string> {
  const plan = planByCode(input.planCode)!;
  const { customerId } = await ensureCustomer(input.orgId);
  const session = await stripe.checkout.sessions.create(
    {
      mode: "subscription",
      customer: customerId,
      client_reference_id: input.orgId,
      line_items: [{ price: await priceOf(plan.code), quantity: 1 }],
      subscription_data: { metadata: { org_id: input.orgId }, ...(plan.trialDays ? { trial_period_days: plan.trialDays } : {}) },
      metadata: { org_id: input.orgId, plan_code: plan.code },
      success_url: input.successUrl,
      cancel_url: input.cancelUrl,
    },
    { idempotencyKey: input.idempotencyKey },
  );
  if (!session.url) throw new Error("checkout session without url");
  return session.url;
}

export async function createPortalSession(input: { orgId: string; returnUrl: string }): Promise<string> {
  const { customerId } = await ensureCustomer(input.orgId);
  const session = await stripe.billingPortal.sessions.create({ customer: customerId, return_url: input.returnUrl });
  return session.url;
}

// ---- ops: subscribe with a test card, advance a test clock -------------------------------------

/** Subscribes the org through Stripe with a test card (test mode and local only). */
export type TestCard = "visa" | "declined" | "fails";
const TEST_CARDS: Record<TestCard, string> = { visa: "pm_card_visa", declined: "pm_card_chargeDeclined", fails: "pm_card_chargeCustomerFail" };

/** Subscribes the org through Stripe with a test card: `declined` is refused at attach, `fails` attaches and fails every charge. */
export async function subscribeWithTestCard(input: { orgId: string; planCode: PlanCode; card?: TestCard }): Promise<string> {
  if (config.stripeMode === "live") throw new AppError("FORBIDDEN", "Test cards exist only in test mode.");
  const plan = planByCode(input.planCode)!;
  const { customerId } = await ensureCustomer(input.orgId);
  const pm = await stripe.paymentMethods.attach(TEST_CARDS[input.card ?? "visa"], { customer: customerId });
  await stripe.customers.update(customerId, { invoice_settings: { default_payment_method: pm.id } });
  const sub = await stripe.subscriptions.create({
    customer: customerId,
    items: [{ price: await priceOf(plan.code) }],
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
  if (!org.stripeTestClockId) throw new AppError("VALIDATION_FAILED", "This organisation's Stripe customer is not on a test clock.");
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

// ---- plan changes ------------------------------------------------------------------------------

/** Stripe's "now" for a customer: its test clock's time, or the wall clock. */
export async function clockNow(customerId: string): Promise<number> {
  const customer = await stripe.customers.retrieve(customerId);
  const clock = "test_clock" in customer ? customer.test_clock : null;
  if (clock) return (await stripe.testHelpers.testClocks.retrieve(typeof clock === "string" ? clock : clock.id)).frozen_time;
  return Math.floor(Date.now() / 1000);
}

/** Stripe's own proration for moving the subscription to `priceId` at `prorationDate`, invoiced now. */
export async function previewPriceChange(input: { subscriptionId: string; itemId: string; customerId: string; priceId: string; prorationDate: number }) {
  const preview = await stripe.invoices.createPreview({
    customer: input.customerId,
    subscription: input.subscriptionId,
    subscription_details: { items: [{ id: input.itemId, price: input.priceId }], proration_date: input.prorationDate, proration_behavior: "always_invoice" },
  });
  return { amountDue: preview.amount_due, lines: preview.lines.data.map((l) => ({ description: l.description ?? "", amount: l.amount })) };
}

/** Moves the subscription to `priceId` now, prorated at `prorationDate` (the preview's) and invoiced at once. */
export async function updateSubscriptionPrice(input: {
  subscriptionId: string;
  priceId: string;
  endTrial: boolean;
  prorationDate: number | null;
  idempotencyKey: string;
}): Promise<SubscriptionState> {
  const current = await retrieveSubscription(input.subscriptionId);
  const sub = await stripe.subscriptions.update(
    input.subscriptionId,
    {
      items: [{ id: current.itemId, price: input.priceId }],
      proration_behavior: "always_invoice",
      ...(input.endTrial ? { trial_end: "now" as const } : input.prorationDate ? { proration_date: input.prorationDate } : {}),
      expand: ["schedule"],
    },
    { idempotencyKey: input.idempotencyKey },
  );
  return subscriptionState(sub);
}

// ---- usage reported to Stripe (billing meters) ---------------------------------------------------

const METER_EVENT = "api_call";
let meterId: string | null = null;

/** The billing meter usage is reported to (created in test mode / locally when missing). */
export async function ensureMeter(): Promise<string> {
  if (meterId) return METER_EVENT;
  const meters = await stripe.billing.meters.list({ limit: 100 });
  let meter = meters.data.find((m) => m.event_name === METER_EVENT);
  if (!meter) {
    if (config.stripeMode === "live") throw new Error(`No Stripe billing meter for event "${METER_EVENT}"`);
    meter = await stripe.billing.meters.create(
      {
        display_name: "API calls",
        event_name: METER_EVENT,
        default_aggregation: { formula: "sum" },
        customer_mapping: { event_payload_key: "stripe_customer_id", type: "by_id" },
        value_settings: { event_payload_key: "value" },
      },
      { idempotencyKey: `meter-${METER_EVENT}` },
    );
  }
  meterId = meter.id;
  return METER_EVENT;
}

/** Stripe's refusal of a meter event whose identifier it has already counted (400, no error code). */
const ALREADY_COUNTED = /^An event already exists with identifier /;

/**
 * Sends one meter event. A repeat of an identifier Stripe already has is refused with 400
 * ("An event already exists with identifier …"): that usage is counted, so it answers
 * "already_counted" rather than failing.
 */
export async function sendMeterEvent(input: {
  eventName: string;
  customerId: string;
  value: number;
  timestamp: number;
  identifier: string;
}): Promise<"counted" | "already_counted"> {
  try {
    await stripe.billing.meterEvents.create({
      event_name: input.eventName,
      payload: { stripe_customer_id: input.customerId, value: String(input.value) },
      identifier: input.identifier,
      timestamp: input.timestamp,
    });
    return "counted";
  } catch (err) {
    if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 400 && ALREADY_COUNTED.test(err.message)) return "already_counted";
    throw err;
  }
}

/** Stripe's total of the meter for a customer over [start, end), both on whole minutes (Stripe refuses others). */
export async function meterTotal(input: { eventName: string; customerId: string; start: number; end: number }): Promise<number> {
  await ensureMeter();
  const summaries = await stripe.billing.meters.listEventSummaries(meterId!, { customer: input.customerId, start_time: input.start, end_time: input.end });
  return summaries.data.reduce((sum, s) => sum + s.aggregated_value, 0);
}

export async function verifyWebhook(rawBody: string, signature: string): Promise<Stripe.Event> {
  return stripe.webhooks.constructEventAsync(rawBody, signature, webhookSecret, 300);
}

export type StripeEvent = Stripe.Event;
