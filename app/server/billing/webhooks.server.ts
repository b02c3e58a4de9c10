// Stripe webhook intake: verify the signature on the raw body, store the event by id and enqueue
// its job in the same transaction (one per batch of concurrent events). The caller answers 2xx
// only after this returns (committed).
// Replays enqueue the same way; what a job does with an event is converge.server.ts.

import type postgres from "postgres";
import { z } from "zod";
import { appendAudit } from "../events/audit.server";
import { config } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { AppError, parseWith } from "../platform/errors.server";
import { jobPayload } from "../platform/jobs.server";
import { createGroupCommit, type Queued } from "../usage/group-commit.server";
import { verifyWebhook } from "./stripe.server";

export const EVENT_JOB = "stripe_event";
export const EVENT_MAX_ATTEMPTS = config.STRIPE_EVENT_MAX_ATTEMPTS;

const stripeId = z.string().regex(/^[A-Za-z0-9_]{1,255}$/, "a Stripe id");
/**
 * What the intake and the convergence read of an event. A signed event of another shape is
 * refused (400) and stored nowhere: storing it would only fail its job forever. Only these fields
 * are validated and kept (z.object strips the rest without copying it: a storm's intake parses
 * thousands of events a second); the whole body is stored as it came.
 */
const eventShape = z.object({
  id: stripeId.startsWith("evt_"),
  type: z.string().regex(/^[a-z0-9_.]{1,100}$/, "a Stripe event type"),
  created: z.number().int().min(0).max(253402300799),
  data: z.object({
    object: z.object({
      id: stripeId.optional(),
      object: z.string().max(100).optional(),
      customer: z.union([stripeId, z.object({ id: stripeId }), z.null()]).optional(),
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
const unstorable = () => new AppError("VALIDATION_FAILED", "The event holds values that cannot be stored (e.g. a NUL character).");

/**
 * Whether Postgres can read the event as jsonb later (convergence does): no NUL character and no
 * lone surrogate in any string or key, no number beyond a double. The payload is stored as json
 * (its text, checked only for syntax), so what jsonb would refuse is refused here, at the door,
 * not by a job that could never run. The parsed event is walked only when its text holds what
 * could be one of those (a \u0000 or \uD800–\uDFFF escape, a number with a 3-digit exponent,
 * 300 digits in a row; raw control characters are not JSON): a storm's events almost never do.
 */
const SUSPECT_TEXT = /\\u0000|\\u[dD][89a-fA-F]|[:,[]\s*-?\d+(?:\.\d+)?[eE][+-]?\d{3}|\d{300}/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
function readableAsJsonb(rawBody: string, parsed: unknown): boolean {
  return !SUSPECT_TEXT.test(rawBody) || walkable(parsed);
}
function walkable(value: unknown): boolean {
  if (typeof value === "string") return !value.includes("\0") && !LONE_SURROGATE.test(value);
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(walkable);
  if (value !== null && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) if (!walkable(key) || !walkable(inner)) return false;
  }
  return true;
}

/** Stores and enqueues a signed event; a repeated event id changes nothing. */
export async function receiveStripeEvent(rawBody: string, signature: string): Promise<{ eventId: string; duplicate: boolean }> {
  let verified: unknown;
  try {
    verified = await verifyWebhook(rawBody, signature);
  } catch {
    throw new AppError("VALIDATION_FAILED", "Invalid or expired Stripe signature.");
  }
  const event = parseWith(eventShape, verified);
  if (!readableAsJsonb(rawBody, verified)) throw unstorable();
  const stored = await intake.submit({ event, rawBody, customer: customerOf(event), objectId: event.data.object.id ?? null });
  return { eventId: event.id, duplicate: !stored };
}

type Received = { event: EventShape; rawBody: string; customer: string | null; objectId: string | null };
/** Per event of a batch: stored now (and its job enqueued), already stored, or refused by Postgres. */
type Intake = { index: number; outcome: "stored" | "duplicate" | "unstorable" };

// A storm of webhooks is stored by group commit (usage/group-commit.server.ts): the events that
// arrive together are inserted, and their jobs enqueued, in one transaction, and each request is
// answered once that commits. A repeat of an event id already queued or running waits for it and is
// answered as a duplicate; a repeat from another process meets the primary key and is one too.
const intake = createGroupCommit<Received, boolean, Intake>({
  maxBatch: 256,
  maxInflight: Math.max(1, Math.min(2, config.DATABASE_POOL_SIZE - 1)),
  keyOf: (r) => r.event.id,
  flush: storeBatch,
  indexOf: (row) => row.index,
  decide: (_, row) => (row.outcome === "unstorable" ? { ok: false, error: unstorable } : { ok: true, value: row.outcome === "stored" }),
  // The same id, stored by its leader or before: a duplicate. One Postgres refused is decided afresh.
  follow: (_leader, _follower, outcome) => (outcome.ok ? { ok: true, value: false } : undefined),
});

/** Resolves once every queued and running intake batch has been answered (a graceful stop waits for it). */
export function drainStripeIntake(): Promise<void> {
  return intake.drain();
}

/**
 * One batch in one transaction. A payload Postgres refuses fails the whole statement: then each
 * event is stored on its own, so only the unstorable one is refused (and nothing of it is kept).
 */
async function storeBatch(batch: readonly Queued<Received>[]): Promise<Intake[]> {
  try {
    return await storeEvents(batch.map((q, index) => ({ ...q.item, index })));
  } catch (err) {
    if (!isDataException(err)) throw err;
  }
  const rows: Intake[] = [];
  for (const [index, q] of batch.entries()) {
    try {
      rows.push(...(await storeEvents([{ ...q.item, index }])));
    } catch (err) {
      if (!isDataException(err)) throw err;
      rows.push({ index, outcome: "unstorable" });
    }
  }
  return rows;
}

/**
 * Inserts the events by id (a stored id is skipped) and enqueues a job for each one inserted, in
 * one transaction: an event is answered 2xx only once it and its job are committed together.
 * One queue per customer: that customer's events converge one at a time, in arrival order.
 */
function storeEvents(events: (Received & { index: number })[]): Promise<Intake[]> {
  return sql.begin(async (tx) => {
    const inserted = await tx<{ id: string; customer_id: string | null }[]>`
      insert into stripe_events (id, type, object_id, customer_id, stripe_created_at, payload)
      select id, type, object_id, customer_id, to_timestamp(created), payload::json
        from unnest(${events.map((e) => e.event.id)}::text[], ${events.map((e) => e.event.type)}::text[], ${events.map((e) => e.objectId)}::text[],
                    ${events.map((e) => e.customer)}::text[], ${events.map((e) => e.event.created)}::float8[], ${events.map((e) => e.rawBody)}::text[])
             as e(id, type, object_id, customer_id, created, payload)
      on conflict (id) do nothing
      returning id, customer_id`;
    if (inserted.length > 0) await enqueueStored(tx, inserted);
    const stored = new Set(inserted.map((r) => r.id));
    return events.map((e) => ({ index: e.index, outcome: stored.has(e.event.id) ? "stored" : "duplicate" }) as const);
  });
}

// A job runs STRIPE_EVENT_GATHER_MS after its event arrived: the customer's events that come in
// meanwhile wait behind it and converge with it, one read of Stripe for the lot. During a storm
// (events stored by this process at STRIPE_EVENT_STORM_RATE a second or more, counted over the
// current and the previous tenth of a second) it waits STRIPE_EVENT_STORM_GATHER_MS instead, and
// the jobs queued just before the storm was noticed are pushed back to the same: convergence then
// runs after the storm's peak rather than against it for the CPU, and a customer's storm
// converges in about one job.
const CALM_SECONDS = config.STRIPE_EVENT_GATHER_MS / 1000;
const STORM_SECONDS = config.STRIPE_EVENT_STORM_GATHER_MS / 1000;
const TICK_MS = 100;
const rate = { tick: 0, thisTick: 0, lastTick: 0, storm: false };
// This process's jobs queued calm within the last calm wait (still to run, unless a burst took them).
let calmJobs: { at: number; ids: string[] }[] = [];

/** Counts `stored` events into this process's rate: whether it is a storm now, and whether it just became one. */
function noteStored(stored: number, now: number): { storm: boolean; began: boolean } {
  const tick = Math.floor(now / TICK_MS);
  if (tick !== rate.tick) {
    rate.lastTick = tick === rate.tick + 1 ? rate.thisTick : 0;
    rate.thisTick = 0;
    rate.tick = tick;
  }
  rate.thisTick += stored;
  // The events of at most two tenths of a second, against the rate's share of them.
  const storm = rate.thisTick + rate.lastTick >= (config.STRIPE_EVENT_STORM_RATE * 2 * TICK_MS) / 1000;
  const began = storm && !rate.storm;
  rate.storm = storm;
  return { storm, began };
}

/** Enqueues the jobs of events just stored, waiting as calm or storm asks (in the caller's transaction). */
async function enqueueStored(tx: postgres.TransactionSql, events: readonly { id: string; customer_id: string | null }[]): Promise<void> {
  const now = Date.now();
  const { storm, began } = noteStored(events.length, now);
  const ids = await enqueueEvents(tx, events, storm ? STORM_SECONDS : CALM_SECONDS);
  calmJobs = calmJobs.filter((j) => j.at > now - config.STRIPE_EVENT_GATHER_MS);
  if (!storm) calmJobs.push({ at: now, ids });
  else if (began && calmJobs.length > 0) {
    // Only jobs not yet taken by the worker move (reschedule_jobs skips locked ones).
    const held = calmJobs.flatMap((j) => j.ids);
    calmJobs = [];
    await tx`select count(*) from graphile_worker.reschedule_jobs(${held}::bigint[], run_at => now() + make_interval(secs => ${STORM_SECONDS}))`;
  }
}

/** Enqueues stored events' jobs, keyed by event id, in the caller's transaction (one statement). */
async function enqueueEvents(
  tx: postgres.TransactionSql,
  events: readonly { id: string; customer_id: string | null }[],
  gatherSeconds = CALM_SECONDS,
): Promise<string[]> {
  const jobs = await tx<{ id: string }[]>`
    select id::text from graphile_worker.add_jobs(array(
      select row(${EVENT_JOB}::text, payload::json, queue_name, now() + make_interval(secs => ${gatherSeconds}), ${EVENT_MAX_ATTEMPTS}::smallint, job_key, null::smallint, null::text[])::graphile_worker.job_spec
        from unnest(${events.map((e) => jobPayload(EVENT_JOB, { eventId: e.id }))}::text[], ${events.map((e) => queueOf(e.customer_id))}::text[],
                    ${events.map((e) => e.id)}::text[]) as j(payload, queue_name, job_key)))`;
  return jobs.map((j) => j.id);
}

/** The job queue of a customer's events (graphile-worker runs one job of a queue at a time). */
export const queueOf = (customerId: string | null) => `stripe:${customerId ?? "none"}`;

/** Re-processes a stored event (ops `replay`, /admin): a fresh job under the same key. */
export async function replayStripeEvent(eventId: string): Promise<{ eventId: string; jobId: string }> {
  const [ev] = await sql<{ customer_id: string | null }[]>`select customer_id from stripe_events where id = ${eventId}`;
  if (!ev) throw new AppError("NOT_FOUND", `No stored Stripe event ${eventId}.`);
  return sql.begin(async (tx) => {
    // A permanently failed job keeps its key; remove it so the replay starts with fresh attempts.
    await tx`select graphile_worker.remove_job(${eventId}::text)`;
    await tx`update stripe_events set processed_at = null, converge_ms = null where id = ${eventId}`;
    const [jobId] = await enqueueEvents(tx, [{ id: eventId, customer_id: ev.customer_id }]);
    await appendAudit({ orgId: null, action: "admin.replay_stripe_event", target: eventId });
    return { eventId, jobId };
  });
}
