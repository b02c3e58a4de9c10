// Stripe webhook intake: verify the signature on the raw body, store the event by id and enqueue
// its job in the same transaction. The caller answers 2xx only after this returns (committed).
import { config } from "../config.server";
import { sql } from "../db.server";
import { AppError } from "../errors.server";
import { appendAudit } from "../notify/audit.server";
import { verifyWebhook, type StripeEvent } from "../stripe.server";

export const EVENT_JOB = "stripe_event";
export const EVENT_MAX_ATTEMPTS = config.STRIPE_EVENT_MAX_ATTEMPTS;

function customerOf(event: StripeEvent): string | null {
  const obj = event.data.object as { object?: string; id?: string; customer?: string | { id: string } | null };
  if (obj.object === "customer") return obj.id ?? null;
  if (typeof obj.customer === "string") return obj.customer;
  return obj.customer?.id ?? null;
}

/** Stores and enqueues a signed event; a repeated event id changes nothing. */
export async function receiveStripeEvent(rawBody: string, signature: string | null): Promise<{ eventId: string; duplicate: boolean }> {
  if (!signature) throw new AppError("VALIDATION_FAILED", "Missing Stripe-Signature header.");
  let event: StripeEvent;
  try {
    event = await verifyWebhook(rawBody, signature);
  } catch {
    throw new AppError("VALIDATION_FAILED", "Invalid or expired Stripe signature.");
  }
  const customer = customerOf(event);
  const objectId = (event.data.object as { id?: string }).id ?? null;
  const inserted = await sql.begin(async (tx) => {
    const rows = await tx`
      insert into stripe_events (id, type, object_id, customer_id, stripe_created_at, payload)
      values (${event.id}, ${event.type}, ${objectId}, ${customer}, to_timestamp(${event.created}), ${rawBody}::jsonb)
      on conflict (id) do nothing
      returning id`;
    if (rows.length === 0) return false;
    // One queue per customer: that customer's events converge one at a time, in arrival order.
    await tx`select graphile_worker.add_job(${EVENT_JOB}, json_build_object('eventId', ${event.id}::text),
                                          queue_name := ${`stripe:${customer ?? "none"}`},
                                          max_attempts := ${EVENT_MAX_ATTEMPTS}::int,
                                          job_key := ${event.id}::text)`;
    return true;
  });
  return { eventId: event.id, duplicate: !inserted };
}

/** Re-processes a stored event (ops `replay`, /admin): a fresh job under the same key. */
export async function replayStripeEvent(eventId: string): Promise<{ eventId: string; jobId: string }> {
  const [ev] = await sql<{ customer_id: string | null }[]>`select customer_id from stripe_events where id = ${eventId}`;
  if (!ev) throw new AppError("NOT_FOUND", `No stored Stripe event ${eventId}.`);
  return sql.begin(async (tx) => {
    // A permanently failed job keeps its key; remove it so the replay starts with fresh attempts.
    await tx`select graphile_worker.remove_job(${eventId}::text)`;
    await tx`update stripe_events set processed_at = null, converge_ms = null where id = ${eventId}`;
    const [job] = await tx<{ id: string }[]>`
      select (graphile_worker.add_job(${EVENT_JOB}, json_build_object('eventId', ${eventId}::text),
                                      queue_name := ${`stripe:${ev.customer_id ?? "none"}`},
                                      max_attempts := ${EVENT_MAX_ATTEMPTS}::int,
                                      job_key := ${eventId}::text)).id::text as id`;
    await appendAudit({ orgId: null, action: "admin.replay_stripe_event", target: eventId });
    return { eventId, jobId: job.id };
  });
}
