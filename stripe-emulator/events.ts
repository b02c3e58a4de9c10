// Events and their delivery: stored, then POSTed to every enabled webhook endpoint that wants the
// type (webhook-endpoints.ts), in creation order, each signed with its endpoint's secret exactly as
// Stripe signs (`Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")`), retried a few times
// when the endpoint answers non-2xx or cannot be reached, then given up (Stripe's finite schedule).
import { createHmac } from "node:crypto";
import Stripe from "stripe";
import { newId, type Store } from "./store";

/** A test switch: deliver some events twice (`duplicate`, a probability) and out of order (`reorder`). */
export type DeliveryChaos = { duplicate?: number; reorder?: boolean };

/**
 * How long each retry of a failed delivery waits, in ms; once they are used up the delivery is
 * given up, as Stripe gives it up. Stripe documents "three times over a few hours" in sandboxes
 * (up to three days, with exponential backoff, in live mode) without the single waits: these are
 * the local Stripe's, doubling from half an hour (attempts at 0, 0:30, 1:30 and 3:30).
 */
export const SANDBOX_RETRY_SCHEDULE: readonly number[] = [1_800_000, 3_600_000, 7_200_000];

/**
 * A test switch for deliveries: `on`; `paused` (nothing is sent, everything waits and goes out once
 * `on` again: an endpoint outage within the retry window); `dropped` (events created meanwhile are
 * never sent, as Stripe never sends the events of a disabled endpoint: lost for good).
 */
export type DeliveryMode = "on" | "paused" | "dropped";

/** The account's and the webhook endpoint's API version: the one the `stripe` SDK is pinned to. */
export const API_VERSION: string = Stripe.API_VERSION;

export function signPayload(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${payload}`).digest("hex");
  return `t=${timestamp},v1=${v1}`;
}

/** A webhook endpoint as the store keeps it: the public object plus its signing secret (webhook-endpoints.ts). */
export type StoredEndpoint = Stripe.WebhookEndpoint & { secret: string };

/** Whether an event of `type` goes to this endpoint now. */
export const endpointWants = (e: Stripe.WebhookEndpoint, type: string) =>
  e.status === "enabled" && (e.enabled_events.includes("*") || e.enabled_events.includes(type));

/** A delivery that is due: the event, the attempts so far, and the endpoint it goes to. */
type Due = { event_id: string; attempts: number; endpoint: StoredEndpoint };

export class Events {
  private timer: ReturnType<typeof setInterval> | null = null;
  private delivering = false;
  mode: DeliveryMode = "on";

  constructor(
    private store: Store,
    private retrySchedule: readonly number[],
    readonly log: (line: string) => void,
    private chaos: DeliveryChaos = {},
  ) {}
  // Duplicate deliveries the chaos switch has scheduled and not yet sent.
  private duplicates = 0;

  /** Records an event at `created` (clock time for test-clock customers) and queues its delivery. */
  async emit(type: Stripe.Event.Type, object: any, created: number, previous?: Record<string, unknown>): Promise<Stripe.Event> {
    const endpoints = await this.store.list<StoredEndpoint>("webhook_endpoint", (e) => endpointWants(e, type));
    const event = {
      id: newId("evt"),
      object: "event",
      api_version: API_VERSION,
      created,
      data: { object: structuredClone(object), ...(previous ? { previous_attributes: previous } : {}) },
      livemode: false,
      pending_webhooks: this.mode === "dropped" ? 0 : endpoints.length,
      request: { id: null, idempotency_key: null },
      type,
    };
    await this.store.put(event);
    // Out of order under the chaos switch: each delivery waits a random while before its first attempt.
    const delay = this.chaos.reorder ? Math.floor(Math.random() * 300) : 0;
    // A dropped event keeps its rows, given up before the first attempt, so a test can see it was lost.
    const givenUp = this.mode === "dropped" ? new Date() : null;
    for (const endpoint of endpoints)
      await this.store.sql`insert into deliveries (event_id, endpoint_id, next_at, given_up_at)
                           values (${event.id}, ${endpoint.id}, now() + ${`${delay} milliseconds`}::interval, ${givenUp})`;
    // Stripe.Event is a union over event types; its `type` is checked above, its object per call site.
    return event as unknown as Stripe.Event;
  }

  start() {
    this.timer = setInterval(() => void this.deliverDue(), 25);
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
  }

  async pending(): Promise<number> {
    const [row] = await this.store.sql<{ n: number }[]>`select count(*)::int as n from deliveries
                                                        where delivered_at is null and given_up_at is null and endpoint_id is not null`;
    return row.n + this.duplicates;
  }

  private async deliverDue() {
    if (this.delivering || this.mode === "paused") return;
    this.delivering = true;
    try {
      const due = await this.store.sql<Due[]>`
        select d.event_id, d.attempts, e.data as endpoint from deliveries d join objects e on e.id = d.endpoint_id
         where d.delivered_at is null and d.given_up_at is null and d.next_at <= now() order by d.seq limit 50`;
      if (this.chaos.reorder) due.reverse();
      for (const d of due) await this.deliver(d);
    } catch (err) {
      this.log(`webhook delivery loop: ${(err as Error).message}`);
    } finally {
      this.delivering = false;
    }
  }

  private async deliver({ event_id: eventId, attempts, endpoint }: Due) {
    const event = await this.store.get(eventId);
    const body = JSON.stringify(event);
    const status = await this.post(endpoint, body);
    const key = this.store.sql`event_id = ${eventId} and endpoint_id = ${endpoint.id}`;
    if (status >= 200 && status < 300) {
      await this.store.sql`update deliveries set delivered_at = now(), attempts = ${attempts + 1}, last_status = ${status} where ${key}`;
      // The event counts the endpoints it has still to reach, as Stripe's does.
      await this.store.sql`update objects set data = jsonb_set(data, '{pending_webhooks}', to_jsonb(greatest((data->>'pending_webhooks')::int - 1, 0)))
                           where id = ${eventId}`;
      if (Math.random() < (this.chaos.duplicate ?? 0)) this.duplicate(eventId, endpoint, body);
      return;
    }
    // The attempt just made is retry number `attempts` (the first one is no retry).
    const wait = this.retrySchedule[attempts];
    if (wait === undefined) {
      await this.store.sql`update deliveries set attempts = ${attempts + 1}, last_status = ${status}, given_up_at = now() where ${key}`;
      this.log(`webhook ${eventId} answered ${status || "no response"}; given up after ${attempts + 1} attempts`);
      return;
    }
    await this.store.sql`update deliveries set attempts = ${attempts + 1}, last_status = ${status},
                         next_at = now() + ${`${wait} milliseconds`}::interval where ${key}`;
    this.log(`webhook ${eventId} to ${endpoint.url} answered ${status || "no response"}; retry in ${wait} ms`);
  }

  /** The chaos switch's second delivery of an event, a little later (Stripe may deliver an event more than once). */
  private duplicate(eventId: string, endpoint: StoredEndpoint, body: string) {
    this.duplicates++;
    setTimeout(
      async () => {
        const status = await this.post(endpoint, body);
        if (status < 200 || status >= 300) this.log(`duplicate webhook ${eventId} answered ${status || "no response"}`);
        this.duplicates--;
      },
      50 + Math.floor(Math.random() * 250),
    );
  }

  /** Posts one signed delivery; its HTTP status, or 0 when nothing answered. */
  private async post(endpoint: StoredEndpoint, body: string): Promise<number> {
    try {
      const r = await fetch(endpoint.url, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "stripe-signature": signPayload(body, endpoint.secret),
          "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await r.arrayBuffer();
      return r.status;
    } catch {
      return 0;
    }
  }
}
