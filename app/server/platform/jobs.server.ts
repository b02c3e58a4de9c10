// Every background job's payload, declared once: a zod schema per task, and graphile-worker's
// `GraphileWorker.Tasks` interface built from them, so `addJob("stripe_event", …)` and each
// task's handler are typed alike. Most jobs are added by SQL (`graphile_worker.add_job` inside a
// transaction or a SQL function), which no type reaches: the worker parses every payload with its
// schema before the task runs, and `jobPayload` types the payload a TS caller hands to that SQL.
import { z } from "zod";

const id = z.string().min(1);

/**
 * What graphile-worker's crontab puts in a scheduled job's payload. A cron task reads nothing
 * else; anything may be added by hand (`add_job('report_usage', '{}')` runs it now).
 */
const cronPayload = z.looseObject({ _cron: z.object({ ts: z.string(), backfilled: z.boolean().optional() }).optional() });

export const jobPayloads = {
  /** A stored Stripe event to converge the database to (stripe_events.id). */
  stripe_event: z.object({ eventId: id }),
  /** An org whose customer and subscription are mirrored to Stigg (then rechecked for drift). */
  stigg_sync: z.object({ orgId: id }),
  /** The current catalog version published to Stigg as features and plans (queued by each publish). */
  stigg_publish: cronPayload,
  /** An emitted event to fan out to webhooks and email (events.id). */
  dispatch_event: z.object({ eventId: id }),
  /** One attempt of one webhook delivery (webhook_deliveries.id); `manual`: a person's send (a retry, a test). */
  deliver_webhook: z.object({ deliveryId: id, manual: z.literal(true).optional() }),
  /** A crossing of an org's auto top-up threshold to charge (auto_top_up_runs.id). */
  auto_top_up: z.object({ runId: id }),
  /** One outbox email (email_outbox.id). */
  send_email: z.object({ emailId: id }),
  maintain_partitions: cronPayload,
  measure_drift: cronPayload,
  /** A cron tick, or (`backoff`: how many runs in a row Stripe stopped) the run after a backoff. */
  report_usage: cronPayload.extend({ backoff: z.int().min(1).optional() }),
  rollover_periods: cronPayload,
  slo_watch: cronPayload,
  notify_trials: cronPayload,
  retention: cronPayload,
} satisfies Record<string, z.ZodType<object>>;

export type JobName = keyof typeof jobPayloads;
export type JobPayloads = { [K in JobName]: z.infer<(typeof jobPayloads)[K]> };
export type JobPayload<K extends JobName> = JobPayloads[K];

declare global {
  namespace GraphileWorker {
    // The payload types above, for graphile-worker's addJob, quickAddJob, Task<name> and TaskList.
    interface Tasks extends JobPayloads {}
  }
}

/** A job whose payload does not match its task's schema (a SQL enqueue that no type checked). */
export class MalformedJobPayload extends Error {
  constructor(
    readonly task: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(`malformed ${task} job payload: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
    this.name = "MalformedJobPayload";
  }
}

/** The job's payload as its task declares it, or MalformedJobPayload naming what is wrong. */
export function parseJobPayload<K extends JobName>(task: K, payload: unknown): JobPayload<K> {
  const result = jobPayloads[task].safeParse(payload);
  if (result.success) return result.data as JobPayload<K>;
  throw new MalformedJobPayload(
    task,
    result.error.issues.map((i) => ({ path: i.path.map(String).join(".") || "(payload)", message: i.message })),
  );
}

/**
 * Text Postgres can store: a NUL character (text and jsonb refuse it) and a lone surrogate (jsonb
 * refuses its escape) become U+FFFD. What a job writes from the outside world (a receiver's
 * answer) and the error message graphile-worker writes when a job fails go through it: a message
 * Postgres refuses fails graphile-worker's own "fail the job" query, and the job (with its queue)
 * then stays locked by a live worker, never retried.
 */
const NOT_STORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
export const postgresText = (text: string): string => text.replace(NOT_STORABLE, "\uFFFD");

/**
 * The JSON text of a task's payload, type-checked, for a `graphile_worker.add_job(task, $1::text::json, …)`
 * written in SQL (where the enqueue must commit with the caller's transaction).
 */
export const jobPayload = <K extends JobName>(_task: K, payload: JobPayload<K>): string => JSON.stringify(payload);
