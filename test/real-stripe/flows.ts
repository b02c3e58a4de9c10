// The main billing flows, as the app runs them, through any Stripe client: a real test-mode account
// (real.test.ts, opt-in) or the local Stripe (local.test.ts, every run). Every answer is recorded
// (recording.ts) so the two can be compared field by field (shape-diff.ts). The requests are the
// app's own where the app exports them (prices, meter, the downgrade's phases); the rest mirror
// billing/*.server.ts. Everything is made on a test clock, which is deleted at the end (on a real
// account that deletes its customer and subscriptions too).
import Stripe from "stripe";
import { listPlans } from "../../app/server/billing/plans.server";
import { phasesUpdate } from "../../app/server/billing/schedules.server";
import { planPriceParams } from "../../app/server/billing/stripe.server";
import { METER_PARAMS } from "../../app/server/billing/stripe-meter.server";
import { type Recording, redact, type Step, type StepAnswer } from "./recording";

type Json = Record<string, unknown>;

class Recorder {
  readonly steps: Step[] = [];
  private ids = new Map<string, string>();

  /** Runs one call and records its answer (an error is an answer too); rethrows unless `expectError`. */
  async step<T>(step: string, call: string, params: unknown, run: () => Promise<T>, opts: { expectError?: boolean } = {}): Promise<T> {
    let answer: StepAnswer;
    try {
      const body = await run();
      // As on the wire: the SDK's Decimal objects serialise back to strings, lastResponse is dropped.
      answer = { ok: true, body: redact(JSON.parse(JSON.stringify(body)), this.ids) };
      this.record(step, call, params, answer);
      return body;
    } catch (err) {
      const e = err as Stripe.errors.StripeError;
      answer = {
        ok: false,
        status: e.statusCode ?? null,
        error: redact({ type: e.rawType ?? e.type, code: e.code ?? null, param: e.param ?? null, message: e.message }, this.ids) as never,
      };
      this.record(step, call, params, answer);
      if (opts.expectError) return undefined as T;
      throw err;
    }
  }

  private record(step: string, call: string, params: unknown, answer: StepAnswer) {
    this.steps.push({ step, request: { call, params: params === undefined ? undefined : redact(params, this.ids) }, answer });
  }
}

const plan = (code: string) => listPlans().find((p) => p.code === code)!;

/**
 * The plan's price, found by its lookup key or created with the app's parameters (as ensurePrices
 * does); recorded as one retrieve, so a run that found it and one that made it record the same steps.
 */
async function planPrice(r: Recorder, stripe: Stripe, code: string): Promise<Stripe.Price> {
  const params = planPriceParams(plan(code));
  const [found] = (await stripe.prices.list({ lookup_keys: [params.lookup_key], active: true, limit: 1 })).data;
  const id = found?.id ?? (await stripe.prices.create(params)).id;
  return r.step(`prices.retrieve ${code}`, "prices.retrieve", undefined, () => stripe.prices.retrieve(id));
}

/** The app's meter, found by its event name or created with the app's parameters; recorded as the list that holds it. */
async function appMeter(r: Recorder, stripe: Stripe): Promise<Stripe.Billing.Meter> {
  const active = (m: Stripe.Billing.Meter) => m.event_name === METER_PARAMS.event_name && m.status === "active";
  if (!(await stripe.billing.meters.list({ limit: 100 })).data.some(active)) await stripe.billing.meters.create(METER_PARAMS);
  const meters = await r.step("meters.list", "billing.meters.list", {}, () => stripe.billing.meters.list({ limit: 100 }));
  return meters.data.find(active)!;
}

/** Runs the flows; `target` names the Stripe they ran against. Cleans up after itself. */
export async function runFlows(stripe: Stripe, target: Recording["target"]): Promise<Recording> {
  const r = new Recorder();
  const tag = crypto.randomUUID().slice(0, 8);
  const starter = await planPrice(r, stripe, "starter");
  const growth = await planPrice(r, stripe, "growth");
  const meter = await appMeter(r, stripe);

  const clock = await r.step("test_clocks.create", "testHelpers.testClocks.create", {}, () =>
    stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.now() / 1000), name: `realsuite_${tag}` }),
  );
  try {
    const customerParams = { name: "Real suite", email: `realsuite+${tag}@example.com`, metadata: { org_id: `org_real_${tag}` }, test_clock: clock.id };
    const customer = await r.step("customers.create", "customers.create", customerParams, () => stripe.customers.create(customerParams));

    // Checkout: a session for the starter plan, then expired, as the app expires the org's other sessions.
    const sessionParams: Stripe.Checkout.SessionCreateParams = {
      mode: "subscription",
      customer: customer.id,
      client_reference_id: customerParams.metadata.org_id,
      line_items: [{ price: starter.id, quantity: 1 }],
      subscription_data: { metadata: { org_id: customerParams.metadata.org_id }, billing_mode: { type: "classic" } },
      metadata: { org_id: customerParams.metadata.org_id, plan_code: "starter" },
      success_url: "https://example.com/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "https://example.com/billing?checkout=cancel",
    };
    const session = await r.step("checkout.sessions.create", "checkout.sessions.create", sessionParams, () => stripe.checkout.sessions.create(sessionParams));
    await r.step("checkout.sessions.list", "checkout.sessions.list", { customer: "<customer>", status: "open" }, () =>
      stripe.checkout.sessions.list({ customer: customer.id, status: "open", limit: 100 }),
    );
    await r.step("checkout.sessions.expire", "checkout.sessions.expire", undefined, () => stripe.checkout.sessions.expire(session.id));
    await r.step("checkout.sessions.expire again", "checkout.sessions.expire", undefined, () => stripe.checkout.sessions.expire(session.id), {
      expectError: true,
    });

    // A subscription paid with a test card (ops subscribe's path).
    const pm = await r.step("payment_methods.attach", "paymentMethods.attach", { customer: "<customer>" }, () =>
      stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id }),
    );
    await r.step("customers.update", "customers.update", { invoice_settings: { default_payment_method: "<pm>" } }, () =>
      stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } }),
    );
    const subParams: Stripe.SubscriptionCreateParams = {
      customer: customer.id,
      items: [{ price: starter.id }],
      default_payment_method: pm.id,
      payment_behavior: "allow_incomplete",
      billing_mode: { type: "classic" },
      metadata: customerParams.metadata,
    };
    const sub = await r.step("subscriptions.create", "subscriptions.create", subParams, () => stripe.subscriptions.create(subParams));
    await r.step("subscriptions.retrieve", "subscriptions.retrieve", { expand: ["schedule"] }, () =>
      stripe.subscriptions.retrieve(sub.id, { expand: ["schedule"] }),
    );
    await r.step("subscriptions.list", "subscriptions.list", { customer: "<customer>", status: "all" }, () =>
      stripe.subscriptions.list({ customer: customer.id, status: "all", limit: 100 }),
    );

    // Upgrade: previewed at Stripe's clock, then made with the same proration date.
    const prorationDate = clock.frozen_time + 3600;
    await r.step("test_clocks.advance", "testHelpers.testClocks.advance", { frozen_time: "+1h" }, () =>
      stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: prorationDate }),
    );
    await waitReady(r, stripe, clock.id);
    const previewParams: Stripe.InvoiceCreatePreviewParams = {
      customer: customer.id,
      subscription: sub.id,
      subscription_details: { items: [{ id: sub.items.data[0].id, price: growth.id }], proration_date: prorationDate, proration_behavior: "always_invoice" },
    };
    await r.step("invoices.create_preview", "invoices.createPreview", previewParams, () => stripe.invoices.createPreview(previewParams));
    const upgradeParams: Stripe.SubscriptionUpdateParams = {
      items: [{ id: sub.items.data[0].id, price: growth.id }],
      proration_behavior: "always_invoice",
      proration_date: prorationDate,
      expand: ["schedule"],
    };
    const upgraded = await r.step("subscriptions.update upgrade", "subscriptions.update", upgradeParams, () =>
      stripe.subscriptions.update(sub.id, upgradeParams),
    );

    // Downgrade at the period end: a schedule from the subscription, its phases as the app writes them.
    const schedule = await r.step("subscription_schedules.create", "subscriptionSchedules.create", { from_subscription: "<sub>" }, () =>
      stripe.subscriptionSchedules.create({ from_subscription: sub.id }),
    );
    const periodEnd = new Date(upgraded.items.data[0].current_period_end * 1000);
    const { params: phases } = phasesUpdate(customerParams.metadata.org_id, schedule, { priceId: growth.id, periodEnd }, { priceId: starter.id });
    await r.step("subscription_schedules.update downgrade", "subscriptionSchedules.update", phases, () =>
      stripe.subscriptionSchedules.update(schedule.id, phases),
    );
    await r.step("subscription_schedules.retrieve", "subscriptionSchedules.retrieve", undefined, () => stripe.subscriptionSchedules.retrieve(schedule.id));
    await r.step("subscription_schedules.release", "subscriptionSchedules.release", {}, () => stripe.subscriptionSchedules.release(schedule.id, {}));

    // Usage: a meter event, the same identifier again (Stripe refuses it), the period's summary.
    const now = Math.floor(Date.now() / 1000);
    const eventParams = {
      event_name: meter.event_name,
      payload: { stripe_customer_id: customer.id, value: "3" },
      identifier: `usage_realsuite_${tag}`,
      timestamp: now,
    };
    await r.step("meter_events.create", "billing.meterEvents.create", eventParams, () => stripe.billing.meterEvents.create(eventParams));
    await r.step("meter_events.create duplicate", "billing.meterEvents.create", eventParams, () => stripe.billing.meterEvents.create(eventParams), {
      expectError: true,
    });
    const window = { customer: customer.id, start_time: now - (now % 60) - 3600, end_time: now - (now % 60) + 60 };
    await r.step("meters.event_summaries", "billing.meters.listEventSummaries", window, () => stripe.billing.meters.listEventSummaries(meter.id, window));

    // Invoices, events, and what ops stripe:check reads.
    const invoices = await r.step("invoices.list", "invoices.list", { customer: "<customer>" }, () =>
      stripe.invoices.list({ customer: customer.id, limit: 10 }),
    );
    if (invoices.data[0]) await r.step("invoices.retrieve", "invoices.retrieve", undefined, () => stripe.invoices.retrieve(invoices.data[0].id!));
    await r.step("events.list", "events.list", { created: { gte: "<start>" } }, () => stripe.events.list({ created: { gte: clock.created - 60 }, limit: 20 }));
    await r.step("webhook_endpoints.list", "webhookEndpoints.list", {}, () => stripe.webhookEndpoints.list({ limit: 10 }));
    await r.step("billing_portal.configurations.list", "billingPortal.configurations.list", {}, () => stripe.billingPortal.configurations.list({ limit: 10 }));

    // Refusals: an unknown parameter, an object that does not exist, a key reused with another body.
    await r.step("refused unknown parameter", "customers.create", { colour: "red" }, () => stripe.customers.create({ colour: "red" } as Json), {
      expectError: true,
    });
    await r.step("refused missing object", "customers.retrieve", undefined, () => stripe.customers.retrieve(`cus_realsuiteNone${tag}`), { expectError: true });
    const key = `realsuite-${tag}`;
    await r.step("idempotent first", "customers.update", { name: "A" }, () => stripe.customers.update(customer.id, { name: "A" }, { idempotencyKey: key }));
    await r.step(
      "idempotent other body",
      "customers.update",
      { name: "B" },
      () => stripe.customers.update(customer.id, { name: "B" }, { idempotencyKey: key }),
      {
        expectError: true,
      },
    );
  } finally {
    // Deleting the clock deletes its customers and their subscriptions (the local Stripe may not delete clocks).
    await stripe.testHelpers.testClocks.del(clock.id).catch(() => undefined);
  }
  return {
    target,
    apiVersion: stripe.getApiField("version") ?? Stripe.API_VERSION,
    sdkVersion: Stripe.PACKAGE_VERSION,
    recordedAt: new Date().toISOString(),
    steps: r.steps,
  };
}

/** A clock's advance is asynchronous: waits until it is ready again (recording only the last read). */
async function waitReady(r: Recorder, stripe: Stripe, clockId: string) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const clock = await stripe.testHelpers.testClocks.retrieve(clockId);
    if (clock.status === "ready" || Date.now() > deadline) {
      await r.step("test_clocks.retrieve ready", "testHelpers.testClocks.retrieve", undefined, async () => clock);
      return;
    }
    await Bun.sleep(500);
  }
}
