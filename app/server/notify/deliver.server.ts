// Sends one webhook delivery, signed per the Standard Webhooks spec (webhook-id,
// webhook-timestamp, webhook-signature), and logs the attempt. A failed attempt is retried by a
// new job on a schedule of about three days; an endpoint that has failed for three days is
// disabled, with the reason shown on its page and in the audit log.
import { sql as dsql, eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { appendAudit } from "../events/audit.server";
import { emitEvent } from "../events/outbox.server";
import { db, schema } from "../platform/db.server";
import { jobPayload, postgresText } from "../platform/jobs.server";
import { postPinned } from "./http-post.server";
import { resolveDeliveryTarget } from "./url-safety.server";

// Seconds to wait after attempt n (1-based) before attempt n + 1: ten attempts over ~71 hours.
export const RETRY_SCHEDULE_S = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 72_000];
export const MAX_ATTEMPTS = RETRY_SCHEDULE_S.length + 1;
const DISABLE_AFTER_MS = 3 * 24 * 3600_000;
const KEEP_BODY = 1024;

// Where a delivery's attempt waits (graphile-worker's queue and priority), by its endpoint's health:
// - an endpoint that answers: no queue, priority 0: attempts run side by side on the worker's
//   outbound slots (worker/index.ts);
// - an endpoint that is failing (failing_since set): one of FAILING_LANES queues, chosen by org,
//   where attempts run one at a time, behind every healthy one (priority FAILING_PRIORITY): receivers
//   that hang for the whole timeout hold at most FAILING_LANES slots, whatever their number.
// A person's send (a retry, a test: `manual`) is priority 0 either way: first in its lane.
const FAILING_LANES = 4;
/** The priority of an automatic attempt to a failing endpoint: after every healthy one (0). */
export const FAILING_PRIORITY = 1;
const LANE_OF_DELIVERY = dsql`case when endpoint.failing_since is null then null
                                   else 'webhooks-failing:' || abs(hashtext(endpoint.org_id) % ${FAILING_LANES}::int) end`;
const priorityOf = (manual: boolean) => (manual ? dsql`0` : dsql`case when endpoint.failing_since is null then 0 else ${FAILING_PRIORITY}::int end`);

/**
 * Enqueues the delivery's next attempt (replacing a scheduled one: one job per delivery), where its
 * endpoint's health puts it; `manual`: a person's send.
 */
export const enqueueDelivery = (deliveryId: string, delaySeconds = 0, executor: Pick<typeof db, "execute"> = db, manual = false) =>
  executor.execute(dsql`
    select graphile_worker.add_job('deliver_webhook', ${jobPayload("deliver_webhook", manual ? { deliveryId, manual } : { deliveryId })}::text::json,
             queue_name := ${LANE_OF_DELIVERY}, priority := ${priorityOf(manual)},
             run_at := now() + make_interval(secs => ${delaySeconds}), max_attempts := 5,
             job_key := ${`delivery:${deliveryId}`}::text)
      from webhook_deliveries delivery
      join webhook_endpoints endpoint on endpoint.id = delivery.endpoint_id
     where delivery.id = ${deliveryId}`);

/**
 * One delivery per subscribed, enabled endpoint of the event's org, each with its first attempt
 * enqueued, in the caller's transaction. Unique per endpoint and event: a repeat adds nothing.
 */
export async function createDeliveriesFor(event: { id: string; orgId: string; type: string }, executor: Pick<typeof db, "execute">) {
  await executor.execute(dsql`
    with created as (
      insert into webhook_deliveries (id, org_id, endpoint_id, event_id)
      select 'wd_' || replace(gen_random_uuid()::text, '-', ''), e.org_id, e.id, ${event.id}
        from webhook_endpoints e
       where e.org_id = ${event.orgId} and e.enabled and e.deleted_at is null and ${event.type} = any(e.event_types)
      on conflict (endpoint_id, event_id) do nothing
      returning id, endpoint_id)
    select graphile_worker.add_job('deliver_webhook', json_build_object('deliveryId', created.id), max_attempts := 5,
                                   queue_name := ${LANE_OF_DELIVERY}, priority := ${priorityOf(false)},
                                   job_key := 'delivery:' || created.id)
      from created
      join webhook_endpoints endpoint on endpoint.id = created.endpoint_id`);
}

/** Records a delivery of one event to one endpoint (enqueue its attempt after). */
export async function createDelivery(row: typeof schema.webhookDeliveries.$inferInsert, executor: Pick<typeof db, "insert">) {
  await executor.insert(schema.webhookDeliveries).values(row);
}

/** Makes a delivery pending again, due now (a person's retry; enqueue its attempt after). */
export async function markDeliveryPending(deliveryId: string, executor: Pick<typeof db, "update">) {
  await executor
    .update(schema.webhookDeliveries)
    // The database's clock, as the attempt's start is read (deliverWebhook): the app's and the worker's may differ.
    .set({ status: "pending", nextAttemptAt: new Date(), updatedAt: dsql`now()` })
    .where(eq(schema.webhookDeliveries.id, deliveryId));
}

/** The body every delivery of an event sends (and signs); the portal shows it with the delivery. */
export const webhookPayload = (event: Pick<typeof schema.events.$inferSelect, "id" | "type" | "createdAt" | "data">) =>
  JSON.stringify({ id: event.id, type: event.type, timestamp: event.createdAt.toISOString(), data: event.data });

/**
 * One attempt of a delivery. `job`: where it waited (in a failing lane or not) and whether a person
 * sent it. An attempt that waited as its endpoint no longer is (healthy, now failing, or back) is
 * queued again where the endpoint's health puts it, not sent.
 */
export async function deliverWebhook(deliveryId: string, job: { inLane: boolean; manual: boolean } = { inLane: false, manual: false }): Promise<void> {
  const [row] = await db
    .select({ delivery: schema.webhookDeliveries, endpoint: schema.webhookEndpoints, event: schema.events, startedMs: dsql`epoch_ms(now())`.mapWith(Number) })
    .from(schema.webhookDeliveries)
    .innerJoin(schema.webhookEndpoints, eq(schema.webhookEndpoints.id, schema.webhookDeliveries.endpointId))
    .innerJoin(schema.events, eq(schema.events.id, schema.webhookDeliveries.eventId))
    .where(eq(schema.webhookDeliveries.id, deliveryId));
  if (!row || row.delivery.status === "succeeded") return;
  const { endpoint, event } = row;
  if (!endpoint.enabled || endpoint.deletedAt) {
    await db.update(schema.webhookDeliveries).set({ status: "failed", updatedAt: new Date() }).where(eq(schema.webhookDeliveries.id, deliveryId));
    return;
  }
  if ((endpoint.failingSince !== null) !== job.inLane) {
    await enqueueDelivery(deliveryId, 0, db, job.manual);
    return;
  }
  const payload = webhookPayload(event);
  const now = new Date();
  const headers = {
    "webhook-id": event.id,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": new Webhook(endpoint.secret).sign(event.id, now, payload),
  };
  const started = performance.now();
  let responseCode: number | null = null;
  let responseBody: string | null = null;
  let error: string | null = null;
  try {
    const target = await resolveDeliveryTarget(endpoint.url);
    const res = await postPinned(target, headers, payload);
    responseCode = res.status;
    responseBody = postgresText(res.body.slice(0, KEEP_BODY)); // the receiver's bytes, NUL included
    if (res.status < 200 || res.status > 299) error = `answered ${res.status}`;
  } catch (err) {
    // The receiver's failure, recorded on the attempt (shown to the org), not an error of ours.
    error = postgresText((err as Error).message.slice(0, 300));
  }
  const latencyMs = Math.round(performance.now() - started);
  const succeeded = error === null;
  await db.transaction(async (tx) => {
    // Decided on the rows as they are now, not as read before the POST: another attempt of this
    // delivery (a person's retry) may have run meanwhile, or another delivery to the endpoint.
    const [current] = await tx
      .select({ status: schema.webhookDeliveries.status, attempts: schema.webhookDeliveries.attempts, updatedAt: schema.webhookDeliveries.updatedAt })
      .from(schema.webhookDeliveries)
      .where(eq(schema.webhookDeliveries.id, deliveryId))
      .for("no key update");
    const [target] = await tx
      .select({ failingSince: schema.webhookEndpoints.failingSince })
      .from(schema.webhookEndpoints)
      .where(eq(schema.webhookEndpoints.id, endpoint.id))
      .for("no key update");
    const attempt = current.attempts + 1;
    // A failure that ends after another attempt succeeded, or after a person asked for the delivery
    // again (its attempt waits, and is not to be pushed back by this one's retry schedule), is
    // logged, and changes nothing else.
    if (!succeeded && (current.status === "succeeded" || (current.status === "pending" && current.updatedAt.getTime() > row.startedMs))) {
      await tx.insert(schema.webhookAttempts).values({ deliveryId, attempt, succeeded, responseCode, latencyMs, responseBody, error });
      await tx.update(schema.webhookDeliveries).set({ attempts: attempt, updatedAt: new Date() }).where(eq(schema.webhookDeliveries.id, deliveryId));
      return;
    }
    const failingSince = succeeded ? null : (target.failingSince ?? now);
    const disable = failingSince !== null && Date.now() - failingSince.getTime() >= DISABLE_AFTER_MS;
    const retryIn = succeeded || disable || attempt >= MAX_ATTEMPTS ? null : RETRY_SCHEDULE_S[attempt - 1];
    await tx.insert(schema.webhookAttempts).values({ deliveryId, attempt, succeeded, responseCode, latencyMs, responseBody, error });
    await tx
      .update(schema.webhookDeliveries)
      .set({
        status: succeeded ? "succeeded" : retryIn === null ? "failed" : "retrying",
        attempts: attempt,
        lastResponseCode: responseCode,
        nextAttemptAt: retryIn === null ? null : new Date(Date.now() + retryIn * 1000),
        updatedAt: new Date(),
      })
      .where(eq(schema.webhookDeliveries.id, deliveryId));
    await tx.update(schema.webhookEndpoints).set({ failingSince }).where(eq(schema.webhookEndpoints.id, endpoint.id));
    if (failingSince && disable) {
      const reason = `Disabled on ${now.toISOString().slice(0, 10)}: every delivery has failed since ${failingSince.toISOString().slice(0, 10)} (last: ${error}).`;
      await tx.update(schema.webhookEndpoints).set({ enabled: false, disabledReason: reason }).where(eq(schema.webhookEndpoints.id, endpoint.id));
      await appendAudit({ orgId: endpoint.orgId, actor: "system", action: "webhook_endpoint.disabled", target: endpoint.id, details: { reason } }, tx);
      await emitEvent({ orgId: endpoint.orgId, type: "webhook_endpoint.disabled", data: { endpointId: endpoint.id, url: endpoint.url, reason } }, tx);
    }
    if (retryIn !== null) await enqueueDelivery(deliveryId, retryIn, tx);
  });
}
