// Billing meters, meter events and meter event summaries, as strict as Stripe: a repeated
// identifier, an identifier over 100 characters and a timestamp outside [now − 35 days,
// now + 5 minutes] (real time, whatever the customer's test clock says) are refused with 400;
// summaries need minute-aligned windows; totals lag the events by the aggregation delay.
import type Stripe from "stripe";
import { type Account, invalid, missing } from "./account";
import { int, meta, obj, str } from "./form";
import { integer, listParams, metadata, object, oneOf, string } from "./params";
import { type Handler, list, type Route } from "./route";
import { newId, type Store } from "./store";

export const MAX_IDENTIFIER_LENGTH = 100;
export const MAX_PAST_SECONDS = 35 * 86_400;
export const MAX_FUTURE_SECONDS = 5 * 60;

/** How long after it is accepted an event starts counting in summaries (Stripe aggregates asynchronously). */
const aggregationLag = new WeakMap<Store, number>();
export function setAggregationLag(store: Store, ms: number) {
  aggregationLag.set(store, ms);
}
/** The default lag: `STRIPE_LOCAL_METER_LAG_SECONDS`, else a few seconds. */
export function defaultAggregationLagMs(env: Record<string, string | undefined> = process.env): number {
  const seconds = Number(env.STRIPE_LOCAL_METER_LAG_SECONDS ?? 5);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 5000;
}

/** What the emulator keeps per accepted event: the public object plus what aggregation needs. */
type StoredMeterEvent = {
  id: string;
  object: "emulator_meter_event";
  customer: string;
  meter: string;
  value: number;
  received_ms: number;
  event: Stripe.Billing.MeterEvent;
};

const realNow = () => Math.floor(Date.now() / 1000);

const createMeter: Handler = async (b, params) => {
  const eventName = str(params.event_name);
  if (!eventName) throw invalid("Missing required param: event_name.", "event_name");
  if ((await b.store.list<Stripe.Billing.Meter>("billing.meter", (m) => m.event_name === eventName)).length)
    throw invalid(`A meter with event_name ${eventName} already exists.`, "event_name");
  const now = realNow();
  const meter = {
    id: newId("mtr"),
    object: "billing.meter",
    created: now,
    customer_mapping: { event_payload_key: str(obj(params.customer_mapping).event_payload_key) ?? "stripe_customer_id", type: "by_id" },
    default_aggregation: { formula: str(obj(params.default_aggregation).formula) ?? "sum" },
    display_name: str(params.display_name) ?? eventName,
    event_name: eventName,
    event_time_window: null,
    livemode: false,
    status: "active",
    status_transitions: { deactivated_at: null },
    updated: now,
    value_settings: { event_payload_key: str(obj(params.value_settings).event_payload_key) ?? "value" },
  } satisfies Stripe.Billing.Meter;
  await b.store.put(meter);
  return meter;
};

const createMeterEvent: Handler = async (b, p) => {
  const eventName = str(p.event_name) ?? "";
  const [meter] = await b.store.list<Stripe.Billing.Meter>("billing.meter", (m) => m.event_name === eventName && m.status === "active");
  if (!meter) throw invalid(`No active meter was found for event_name ${eventName}.`, "event_name");
  const payload = meta(p.payload);
  // Stripe: "The numerical usage value in the payload only accepts whole number values" (a
  // negative one counts against the total; a period's negative total bills as 0).
  const valueKey = meter.value_settings.event_payload_key;
  const raw = payload[valueKey];
  if (!/^-?\d+$/.test(raw ?? ""))
    throw invalid(`The meter event payload value must be a whole number; got ${JSON.stringify(raw ?? null)}.`, `payload[${valueKey}]`);
  const value = Number(raw);
  const given = str(p.identifier);
  if (given !== undefined && given.length > MAX_IDENTIFIER_LENGTH)
    throw invalid(`Invalid string: ${given.slice(0, 20)}...; must be at most ${MAX_IDENTIFIER_LENGTH} characters`, "identifier");
  const now = realNow();
  const timestamp = int(p.timestamp) ?? now;
  // Against real time: Stripe does not move a meter event's window with a customer's test clock.
  if (timestamp < now - MAX_PAST_SECONDS)
    throw invalid(
      `The event timestamp cannot be more than 35 days in past. Expected a timestamp greater than or equal to ${now - MAX_PAST_SECONDS}.`,
      "timestamp",
    );
  if (timestamp > now + MAX_FUTURE_SECONDS)
    throw invalid(
      `The event timestamp cannot be more than 5 minutes in the future. Expected a timestamp less than or equal to ${now + MAX_FUTURE_SECONDS}.`,
      "timestamp",
    );
  const identifier = given ?? newId("mev");
  // Stripe refuses a repeated identifier (it keeps them at least 24 hours; here, for good).
  if (await b.store.get(`mev_${identifier}`)) throw invalid(`An event already exists with identifier ${identifier}.`);
  const event = {
    object: "billing.meter_event",
    created: now,
    event_name: eventName,
    identifier,
    livemode: false,
    payload,
    timestamp,
  } satisfies Stripe.Billing.MeterEvent;
  const stored: StoredMeterEvent = {
    id: `mev_${identifier}`,
    object: "emulator_meter_event",
    customer: payload[meter.customer_mapping.event_payload_key],
    meter: meter.id,
    value,
    received_ms: Date.now(),
    event,
  };
  await b.store.put(stored);
  return event;
};

/** The meter's total for a customer over [start, end): the events aggregated so far (the lag), as summaries and invoices see it. */
export async function meterTotal(b: Account, meterId: string, customerId: string, start: number, end: number): Promise<number> {
  const settledBy = Date.now() - (aggregationLag.get(b.store) ?? 0);
  const events = await b.store.list<StoredMeterEvent>(
    "emulator_meter_event",
    (e) => e.meter === meterId && e.customer === customerId && e.event.timestamp >= start && e.event.timestamp < end && e.received_ms <= settledBy,
  );
  return events.reduce((sum, e) => sum + e.value, 0);
}

const listEventSummaries: Handler = async (b, p, [id]) => {
  if (!(await b.store.get(id))) throw missing("billing.meter", id);
  const customerId = str(p.customer);
  if (!customerId) throw invalid("Missing required param: customer.", "customer");
  const start = int(p.start_time);
  const end = int(p.end_time);
  if (start === undefined) throw invalid("Missing required param: start_time.", "start_time");
  if (end === undefined) throw invalid("Missing required param: end_time.", "end_time");
  if (p.value_grouping_window !== undefined) throw invalid("value_grouping_window is not supported by the local Stripe.", "value_grouping_window");
  if (start % 60 !== 0) throw invalid("start_time must be aligned with minute boundaries.", "start_time");
  if (end % 60 !== 0) throw invalid("end_time must be aligned with minute boundaries.", "end_time");
  if (end <= start) throw invalid("end_time must be after start_time.", "end_time");
  const summary = {
    id: newId("mtrusg"),
    object: "billing.meter_event_summary",
    aggregated_value: await meterTotal(b, id, customerId, start, end),
    end_time: end,
    livemode: false,
    meter: id,
    start_time: start,
  } satisfies Stripe.Billing.MeterEventSummary;
  return { object: "list", data: [summary], has_more: false, url: `/v1/billing/meters/${id}/event_summaries` };
};

export const meterRoutes: Route[] = [
  [
    "POST",
    /^\/v1\/billing\/meters$/,
    {
      display_name: string,
      event_name: string,
      default_aggregation: object({ formula: oneOf("count", "last", "sum") }),
      customer_mapping: object({ event_payload_key: string, type: oneOf("by_id") }),
      value_settings: object({ event_payload_key: string }),
      event_time_window: oneOf("day", "hour"),
    },
    createMeter,
  ],
  [
    "GET",
    /^\/v1\/billing\/meters$/,
    { ...listParams, status: oneOf("active", "inactive") },
    async (b, p) => list<Stripe.Billing.Meter>(b, "billing.meter", p, () => true, "/v1/billing/meters"),
  ],
  ["POST", /^\/v1\/billing\/meter_events$/, { event_name: string, payload: metadata, identifier: string, timestamp: integer() }, createMeterEvent],
  [
    "GET",
    /^\/v1\/billing\/meters\/([^/]+)\/event_summaries$/,
    { ...listParams, customer: string, start_time: integer(), end_time: integer(), value_grouping_window: oneOf("day", "hour") },
    listEventSummaries,
  ],
];
