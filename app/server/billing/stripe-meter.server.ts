// Usage reported to Stripe: the billing meter and its events. Part of billing/'s Stripe
// modules, the only ones that talk to Stripe; used by meter-report.server.ts only.
import Stripe from "stripe";
import { config } from "../platform/config.server";
import { stripe } from "./stripe.server";
import { requestKey } from "./stripe-keys.server";

/** The meter's event name, and how the app creates it in test mode (in live mode an operator does; ops stripe:check prints it). */
export const METER_EVENT = "api_call";
export const METER_PARAMS = {
  display_name: "API calls",
  event_name: METER_EVENT,
  default_aggregation: { formula: "sum" },
  customer_mapping: { event_payload_key: "stripe_customer_id", type: "by_id" },
  value_settings: { event_payload_key: "value" },
} satisfies Stripe.Billing.MeterCreateParams;
let meterId: string | null = null;

/** The meter of a metered feature of the catalog: its event name is the feature's code (`api_call`'s is METER_PARAMS). */
export const featureMeterParams = (feature: string, unit: string): Stripe.Billing.MeterCreateParams =>
  feature === METER_EVENT ? METER_PARAMS : { ...METER_PARAMS, display_name: `${feature} (${unit})`, event_name: feature };

/**
 * The billing meter of a metered feature, made in test mode and locally when Stripe has none
 * for its event name (one meter per feature; an event name is Stripe's key for it). In live
 * mode a missing meter is an error naming it.
 */
export async function ensureFeatureMeter(feature: string, unit: string): Promise<string> {
  const meters = await stripe.billing.meters.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
  const found = meters.find((m) => m.event_name === feature && m.status === "active");
  if (found) return found.id;
  if (config.stripeMode === "live") throw new Error(`No Stripe billing meter for event "${feature}": create it before publishing`);
  const params = featureMeterParams(feature, unit);
  return (await stripe.billing.meters.create(params, { idempotencyKey: requestKey(`meter:${feature}`, params) })).id;
}

/** The billing meter usage is reported to (created in test mode / locally when missing). */
export async function ensureMeter(): Promise<string> {
  if (meterId) return METER_EVENT;
  const meters = await stripe.billing.meters.list({ limit: 100 });
  let meter = meters.data.find((m) => m.event_name === METER_EVENT);
  if (!meter) {
    if (config.stripeMode === "live") throw new Error(`No Stripe billing meter for event "${METER_EVENT}"`);
    const params: Stripe.Billing.MeterCreateParams = METER_PARAMS;
    meter = await stripe.billing.meters.create(params, { idempotencyKey: requestKey(`meter:${METER_EVENT}`, params) });
  }
  meterId = meter.id;
  return METER_EVENT;
}

/**
 * Sends one meter event. A repeat of an identifier Stripe already has is refused (400) like any
 * other invalid event; the reporter asks Stripe's totals which it was (meter-report.server.ts).
 */
export async function sendMeterEvent(input: { eventName: string; customerId: string; value: number; timestamp: number; identifier: string }): Promise<void> {
  await stripe.billing.meterEvents.create({
    event_name: input.eventName,
    payload: { stripe_customer_id: input.customerId, value: String(input.value) },
    identifier: input.identifier,
    timestamp: input.timestamp,
  });
}

/** Stripe answered and refused the request itself (400): not busy, not down, not the key. */
export const refusedByStripe = (err: unknown): boolean => err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 400;

/** Stripe's total of the meter for a customer over [start, end), both on whole minutes (Stripe refuses others). */
export async function meterTotal(input: { eventName: string; customerId: string; start: number; end: number }): Promise<number> {
  await ensureMeter();
  const summaries = await stripe.billing.meters.listEventSummaries(meterId!, { customer: input.customerId, start_time: input.start, end_time: input.end });
  return summaries.data.reduce((sum, s) => sum + s.aggregated_value, 0);
}
