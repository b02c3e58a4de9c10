// Stripe webhook intake: verify the signature on the raw body, store the event by id and enqueue
// its job in the same transaction. The caller answers 2xx only after this returns (committed).
// Replays enqueue the same way; what a job does with an event is converge.server.ts.

import type postgres from "postgres";
import { z } from "zod";
import { appendAudit } from "../events/audit.server";
import { config } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { AppError, parseWith } from "../platform/errors.server";
import { jobPayload } from "../platform/jobs.server";
import { verifyWebhook } from "./stripe.server";

export const EVENT_JOB = "stripe_event";
export const EVENT_MAX_ATTEMPTS = config.STRIPE_EVENT_MAX_ATTEMPTS;

const stripeId = z.string().regex(/^[A-Za-z0-9_]{1,255}$/, "a Stripe id");
/**
 * What the intake and the convergence read of an event. A signed event of another shape is
 * refused (400) and stored nowhere: storing it would only fail its job forever.
 */
const eventShape = z.looseObject({
  id: stripeId.startsWith("evt_"),
  type: z.string().regex(/^[a-z0-9_.]{1,100}$/, "a Stripe event type"),
  created: z.number().int().min(0).max(253402300799),
  data: z.looseObject({
    object: z.looseObject({
      id: stripeId.optional(),
      object: z.string().max(100).optional(),
      customer: z.union([stripeId, z.looseObject({ id: stripeId }), z.null()]).optional(),
    }),
  }),
});
type EventShape = z.infer<typeof eventShape>;

function customerOf(event: EventShape): string | null {
  const obj = event.data.object;
  if (obj.object === "customer") return obj.id ?? null;
  if (typeof obj.customer === "string") return obj.customer;
  return obj.customer?.id ?? null;
}

// Postgres refused the payload's content (class 22, data exception: a NUL or a lone surrogate in
// a string, a number beyond numeric): the event cannot be stored, and no retry changes that.
const isDataException = (err: unknown) => String((err as { code?: unknown } | null)?.code ?? "").startsWith("22");

/** Stores and enqueues a signed event; a repeated event id changes nothing. */
export async function receiveStripeEvent(rawBody: string, signature: string): Promise<{ eventId: string; duplicate: boolean }> {
  let verified: unknown;
  try {
    verified = await verifyWebhook(rawBody, signature);
  } catch {
    throw new AppError("VALIDATION_FAILED", "Invalid or expired Stripe signature.");
  }
  const event = parseWith(eventShape, verified);
  const customer = customerOf(event);
  const objectId = event.data.object.id ?? null;
  const inserted = await storeEvent(event, rawBody, customer, objectId).catch((err) => {
    if (isDataException(err)) throw new AppError("VALIDATION_FAILED", "The event holds values that cannot be stored (e.g. a NUL character).");
    throw err;
  });
  return { eventId: event.id, duplicate: !inserted };
}

function storeEvent(event: EventShape, rawBody: string, customer: string | null, objectId: string | null): Promise<boolean> {
  return sql.begin(async (tx) => {
    const rows = await tx`
      insert into stripe_events (id, type, object_id, customer_id, stripe_created_at, payload)
      values (${event.id}, ${event.type}, ${objectId}, ${customer}, to_timestamp(${event.created}), ${rawBody}::jsonb)
      on conflict (id) do nothing
      returning id`;
    if (rows.length === 0) return false;
    await enqueueEvent(tx, event.id, customer);
    return true;
  });
}

/**
 * Enqueues a stored event's job, keyed by the event id, in the caller's transaction. One queue per
 * customer: that customer's events converge one at a time, in arrival order.
 */
async function enqueueEvent(tx: postgres.TransactionSql, eventId: string, customerId: string | null): Promise<string> {
  const [job] = await tx<{ id: string }[]>`
    select (graphile_worker.add_job(${EVENT_JOB}, ${jobPayload(EVENT_JOB, { eventId })}::text::json,
                                    queue_name := ${`stripe:${customerId ?? "none"}`},
                                    max_attempts := ${EVENT_MAX_ATTEMPTS}::int,
                                    job_key := ${eventId}::text)).id::text as id`;
  return job.id;
}

/** Re-processes a stored event (ops `replay`, /admin): a fresh job under the same key. */
export async function replayStripeEvent(eventId: string): Promise<{ eventId: string; jobId: string }> {
  const [ev] = await sql<{ customer_id: string | null }[]>`select customer_id from stripe_events where id = ${eventId}`;
  if (!ev) throw new AppError("NOT_FOUND", `No stored Stripe event ${eventId}.`);
  return sql.begin(async (tx) => {
    // A permanently failed job keeps its key; remove it so the replay starts with fresh attempts.
    await tx`select graphile_worker.remove_job(${eventId}::text)`;
    await tx`update stripe_events set processed_at = null, converge_ms = null where id = ${eventId}`;
    const jobId = await enqueueEvent(tx, eventId, ev.customer_id);
    await appendAudit({ orgId: null, action: "admin.replay_stripe_event", target: eventId });
    return { eventId, jobId };
  });
}
