// Stored webhook events → convergence (the stripe_event job). A job converges its own event and,
// with it, every other event of the same customer still waiting in that customer's queue: Stripe's
// current state covers them all, so a burst costs one read of each object it names instead of one
// per event. What converging an object means is converge.server.ts.
import type { StripeEventRow } from "../../../db/schema";
import { emitForStripeEvent } from "../notify/stripe-facts.server";
import { sql } from "../platform/db.server";
import { log } from "../platform/log.server";
import { convergeInvoice, convergeSubscription, convergeTopUpSession, followInStigg, testClockGone } from "./converge.server";
import { isStripeUnavailable } from "./stripe.server";
import { eventKind } from "./webhook-events.server";
import { EVENT_JOB, queueOf } from "./webhooks.server";

/** A stored event as convergence reads it: its type, its object, and the fields that name a subscription. */
export type StoredEvent = Pick<StripeEventRow, "id" | "type" | "objectId" | "receivedAt"> & {
  object: { subscription?: unknown; released_subscription?: unknown; mode?: unknown };
};

/** The most events of one customer a job takes with its own (a longer burst goes on in the next job). */
const MAX_BURST = 500;

/**
 * The stripe_event job: converges the stored event and the burst waiting behind it. Answers when
 * each converged event arrived (for the convergence metric), or null when no such event is stored.
 */
export async function convergeStoredEvent(eventId: string): Promise<{ receivedAt: Date[] } | null> {
  const [event] = await sql<(Omit<StoredEvent, "receivedAt"> & { customerId: string | null; receivedAtMs: number })[]>`
    select id, type, object_id as "objectId", customer_id as "customerId", (extract(epoch from received_at) * 1000)::float8 as "receivedAtMs",
           jsonb_build_object('subscription', payload #> '{data,object,subscription}', 'released_subscription', payload #> '{data,object,released_subscription}',
                             'mode', payload #> '{data,object,mode}') as object
      from stripe_events where id = ${eventId}`;
  if (!event) return null;
  const own: StoredEvent = { ...event, receivedAt: new Date(event.receivedAtMs) };
  const burst = event.customerId ? await waitingBehind(own, event.customerId) : [];
  if (burst.length > 0) {
    try {
      await convergeEvents(
        [own, ...burst.map((b) => b.event)],
        burst.map((b) => b.jobId),
      );
      return { receivedAt: [own.receivedAt, ...burst.map((b) => b.event.receivedAt)] };
    } catch (err) {
      if (isStripeUnavailable(err)) throw err;
      // One event of the burst may be one that cannot converge: this job's event is converged on its
      // own, and each of the others by its own job, which fails (and retries) alone if it must.
      log.warn({ err, eventId, burst: burst.length }, "convergence: a burst of events failed; converging this job's event alone");
    }
  }
  await convergeEvents([own], []);
  return { receivedAt: [own.receivedAt] };
}

/**
 * The customer's other events whose job waits, never tried, in its queue, in arrival order. While
 * this job runs its queue is locked, so none of those jobs can start before this one completes
 * them. A job that has failed once is left to run alone: an event that cannot converge fails only
 * its own job.
 */
async function waitingBehind(own: StoredEvent, customerId: string): Promise<{ event: StoredEvent; jobId: string }[]> {
  const rows = await sql<(Omit<StoredEvent, "receivedAt"> & { receivedAtMs: number; jobId: string })[]>`
    select e.id, e.type, e.object_id as "objectId", (extract(epoch from e.received_at) * 1000)::float8 as "receivedAtMs", j.id::text as "jobId",
           jsonb_build_object('subscription', e.payload #> '{data,object,subscription}', 'released_subscription', e.payload #> '{data,object,released_subscription}',
                              'mode', e.payload #> '{data,object,mode}') as object
      from stripe_events e
      join graphile_worker.jobs j on j.key = e.id
     where e.customer_id = ${customerId} and e.processed_at is null and e.id <> ${own.id}
       and j.task_identifier = ${EVENT_JOB} and j.queue_name = ${queueOf(customerId)} and j.locked_at is null and j.attempts = 0
     order by e.received_at, e.id
     limit ${MAX_BURST}`;
  return rows.map(({ receivedAtMs, jobId, ...e }) => ({ event: { ...e, receivedAt: new Date(receivedAtMs) }, jobId }));
}

/** Processes one stored event by converging the objects it names (tests; the job goes through convergeStoredEvent). */
export async function processStripeEvent(event: StripeEventRow): Promise<void> {
  const object = (event.payload as { data: { object: StoredEvent["object"] } }).data.object;
  await convergeEvents([{ ...event, object }], []);
}

/**
 * Converges the database to Stripe for events of one customer, together: each object they name is
 * read from Stripe once — the invoices, then the subscriptions the events and those invoices name,
 * then test clocks — then each event's notices go out in arrival order, and every event is marked
 * processed, while the jobs of the others (`alsoDone`) are completed, in one statement.
 */
async function convergeEvents(events: readonly StoredEvent[], alsoDone: readonly string[]): Promise<void> {
  const invoices = new Set<string>();
  const subscriptions = new Set<string>();
  const clocks = new Set<string>();
  const topUpSessions = new Set<string>();
  // The types the app acts on are listed once (webhook-events.server.ts); any other is only stored.
  for (const { type, objectId, object } of events) {
    const kind = eventKind(type);
    if (kind === "subscription" && objectId) subscriptions.add(objectId);
    // A schedule's phases are the pending downgrade: converge its subscription (a released
    // schedule names it in released_subscription).
    const named = kind === "schedule" ? (object.subscription ?? object.released_subscription) : kind === "checkout" ? object.subscription : null;
    if (typeof named === "string") subscriptions.add(named);
    if (kind === "invoice" && objectId) invoices.add(objectId);
    // A paid payment-mode Checkout is a top-up bought without a saved card.
    if (kind === "checkout" && object.mode === "payment" && objectId) topUpSessions.add(objectId);
    if (kind === "clock" && objectId) clocks.add(objectId);
  }
  const orgs = new Set<string>();
  for (const invoiceId of invoices) {
    // A paid or failed invoice moves the subscription's status (past_due ↔ active).
    const subscriptionId = await convergeInvoice(invoiceId);
    if (subscriptionId) subscriptions.add(subscriptionId);
  }
  for (const subscriptionId of subscriptions) {
    const orgId = await convergeSubscription(subscriptionId);
    if (orgId) orgs.add(orgId);
  }
  // A top-up changes no subscription: nothing for Stigg to follow.
  for (const sessionId of topUpSessions) await convergeTopUpSession(sessionId);
  for (const clockId of clocks) {
    const orgId = await testClockGone(clockId);
    if (orgId) orgs.add(orgId);
  }
  for (const event of events) await emitForStripeEvent(event);
  for (const orgId of orgs) await followInStigg(orgId);
  await markProcessed(
    events.map((e) => e.id),
    alsoDone,
  );
}

/** Marks stored events converged, each with how long that took since it arrived, and completes the jobs given. */
async function markProcessed(eventIds: readonly string[], jobIds: readonly string[]): Promise<void> {
  await sql`
    with converged as (
      update stripe_events
         set processed_at = now(),
             converge_ms = (extract(epoch from (clock_timestamp() - received_at)) * 1000)::int
       where id = any(${eventIds}::text[])
      returning id)
    select (select count(*) from converged) as events,
           (select count(*) from graphile_worker.complete_jobs(${jobIds}::bigint[])) as jobs`;
}
