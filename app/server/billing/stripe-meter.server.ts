// Usage reported to Stripe: the billing meters (one per metered feature) and their events. Part
// of billing/'s Stripe modules, the only ones that talk to Stripe; used by meter-report.server.ts
// (reporting, drift) and stripe-catalog.server.ts (catalog:push).
import Stripe from "stripe";
import { config } from "../platform/config.server";
import { stripe } from "./stripe-client.server";
import { requestKey } from "./stripe-keys.server";

/** api_call's event name, and how the app creates a meter in test mode (in live mode an operator does; ops stripe:check prints it). */
export const METER_EVENT = "api_call";
export const METER_PARAMS = {
  display_name: "API calls",
  event_name: METER_EVENT,
  default_aggregation: { formula: "sum" },
  customer_mapping: { event_payload_key: "stripe_customer_id", type: "by_id" },
  value_settings: { event_payload_key: "value" },
} satisfies Stripe.Billing.MeterCreateParams;

/** The meter of a metered feature of the catalog: its event name is the feature's code (`api_call`'s is METER_PARAMS). */
export const featureMeterParams = (feature: string, unit: string) =>
  (feature === METER_EVENT
    ? METER_PARAMS
    : { ...METER_PARAMS, display_name: `${feature} (${unit})`, event_name: feature }) satisfies Stripe.Billing.MeterCreateParams;

// Meter id per event name, once found or made by this process.
const meterIds = new Map<string, string>();

/**
 * The billing meter of a metered feature: the active one with its event name (Stripe's key for
 * a meter), else one that is not, else, in test mode and locally, a new one (one meter per
 * feature). In live mode a missing meter is an error naming it. `unit` names a new meter.
 */
export async function ensureFeatureMeter(feature: string, unit = feature === METER_EVENT ? "call" : "unit"): Promise<string> {
  const known = meterIds.get(feature);
  if (known) return known;
  const meters = await stripe.billing.meters.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
  let id = (meters.find((m) => m.event_name === feature && m.status === "active") ?? meters.find((m) => m.event_name === feature))?.id;
  if (!id) {
    if (config.stripeMode === "live") throw new Error(`No Stripe billing meter for event "${feature}": create it (ops stripe:check prints how)`);
    const params = featureMeterParams(feature, unit);
    id = (await stripe.billing.meters.create(params, { idempotencyKey: requestKey(`meter:${feature}`, params) })).id;
  }
  meterIds.set(feature, id);
  return id;
}

/** The event name usage of a metered feature is reported under (its meter found or made first). */
export async function ensureMeter(feature: string = METER_EVENT, unit?: string): Promise<string> {
  await ensureFeatureMeter(feature, unit);
  return feature;
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
  const meterId = await ensureFeatureMeter(input.eventName);
  const summaries = await stripe.billing.meters.listEventSummaries(meterId, { customer: input.customerId, start_time: input.start, end_time: input.end });
  return summaries.data.reduce((sum, s) => sum + s.aggregated_value, 0);
}
