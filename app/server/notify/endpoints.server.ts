// Outbound webhook endpoints of an org and their deliveries: what the /api/v1/webhooks routes
// and the /webhooks page call. Every change is in the audit log, in the same transaction.
import { and, desc, sql as dsql, eq, inArray, isNull } from "drizzle-orm";
import type { z } from "zod";
import { webhookEndpointInput } from "../api/schemas.server";
import { appendAudit } from "../events/audit.server";
import { emitEvent } from "../events/outbox.server";
import { lockOrg, orgLimitReached } from "../orgs/orgs.server";
import { db, schema } from "../platform/db.server";
import { NotFound } from "../platform/errors.server";
import { createDelivery, enqueueDelivery, markDeliveryPending, webhookPayload } from "./deliver.server";
import { resolveDeliveryTarget } from "./url-safety.server";

type Actor = { orgId: string; actor: string; requestId: string | null };

/** What creating an endpoint takes (the API's contract: app/server/api/schemas.server.ts). */
export const endpointInput = webhookEndpointInput;

/** Endpoints an org may have, as Stripe allows an account (16): each event goes to every one. */
export const MAX_WEBHOOK_ENDPOINTS = 16;

const randomId = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll("-", "")}`;
const newSecret = () => `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64")}`;

const shown = (e: typeof schema.webhookEndpoints.$inferSelect) => ({
  id: e.id,
  url: e.url,
  eventTypes: e.eventTypes,
  enabled: e.enabled,
  disabledReason: e.disabledReason,
  createdAt: e.createdAt.toISOString(),
});

/** Creates an endpoint; its signing secret is in this answer only. */
export async function createEndpoint(input: z.infer<typeof endpointInput> & Actor) {
  // Refused now when it could never be delivered to (it is checked again at every delivery).
  await resolveDeliveryTarget(input.url);
  const row = { id: randomId("we"), orgId: input.orgId, url: input.url, eventTypes: [...new Set(input.eventTypes)], secret: newSecret() };
  const created = await db.transaction(async (tx) => {
    // The count and the insert under the org's lock: concurrent creations never pass the limit.
    await lockOrg(tx, input.orgId);
    const [{ endpoints }] = await tx.execute<{ endpoints: number }>(
      dsql`select count(*)::int as endpoints from webhook_endpoints where org_id = ${input.orgId} and deleted_at is null`,
    );
    if (endpoints >= MAX_WEBHOOK_ENDPOINTS) throw orgLimitReached("webhook endpoints", MAX_WEBHOOK_ENDPOINTS, "delete one you no longer use first.");
    const [e] = await tx.insert(schema.webhookEndpoints).values(row).returning();
    await appendAudit({ ...input, action: "webhook_endpoint.created", target: e.id, details: { url: e.url, eventTypes: e.eventTypes } }, tx);
    return e;
  });
  return { ...shown(created), secret: created.secret };
}

export async function listEndpoints(orgId: string) {
  const rows = await db
    .select()
    .from(schema.webhookEndpoints)
    .where(and(eq(schema.webhookEndpoints.orgId, orgId), isNull(schema.webhookEndpoints.deletedAt)))
    .orderBy(desc(schema.webhookEndpoints.createdAt));
  return rows.map(shown);
}

async function endpointOf(orgId: string, id: string) {
  const [e] = await db
    .select()
    .from(schema.webhookEndpoints)
    .where(and(eq(schema.webhookEndpoints.id, id), eq(schema.webhookEndpoints.orgId, orgId), isNull(schema.webhookEndpoints.deletedAt)));
  if (!e) throw NotFound("Webhook endpoint");
  return e;
}

/** Deletes an endpoint (kept, marked deleted, so its delivery log stays readable). */
export async function deleteEndpoint(input: Actor & { id: string }) {
  const e = await endpointOf(input.orgId, input.id);
  await db.transaction(async (tx) => {
    await tx.update(schema.webhookEndpoints).set({ deletedAt: new Date(), enabled: false }).where(eq(schema.webhookEndpoints.id, e.id));
    await appendAudit({ ...input, action: "webhook_endpoint.deleted", target: e.id, details: { url: e.url } }, tx);
  });
  return { id: e.id, deleted: true };
}

/** Sends a webhook.test event to this endpoint only. */
export async function sendTestEvent(input: Actor & { id: string }) {
  const e = await endpointOf(input.orgId, input.id);
  const deliveryId = randomId("wd");
  await db.transaction(async (tx) => {
    const eventId = await emitEvent({ orgId: e.orgId, type: "webhook.test", data: { endpointId: e.id } }, tx);
    await createDelivery({ id: deliveryId, orgId: e.orgId, endpointId: e.id, eventId: eventId! }, tx);
    await enqueueDelivery(deliveryId, 0, tx, true);
  });
  return { deliveryId };
}

export async function listDeliveries(orgId: string, limit = 50) {
  const rows = await db
    .select({ d: schema.webhookDeliveries, type: schema.events.type, url: schema.webhookEndpoints.url })
    .from(schema.webhookDeliveries)
    .innerJoin(schema.events, eq(schema.events.id, schema.webhookDeliveries.eventId))
    .innerJoin(schema.webhookEndpoints, eq(schema.webhookEndpoints.id, schema.webhookDeliveries.endpointId))
    .where(eq(schema.webhookDeliveries.orgId, orgId))
    .orderBy(desc(schema.webhookDeliveries.createdAt))
    .limit(limit);
  const ids = rows.map((r) => r.d.id);
  const attempts = ids.length
    ? await db.select().from(schema.webhookAttempts).where(inArray(schema.webhookAttempts.deliveryId, ids)).orderBy(schema.webhookAttempts.attempt)
    : [];
  return rows.map(({ d, type, url }) => ({
    id: d.id,
    endpointId: d.endpointId,
    url,
    eventId: d.eventId,
    eventType: type,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
    lastResponseCode: d.lastResponseCode,
    createdAt: d.createdAt.toISOString(),
    log: attempts
      .filter((a) => a.deliveryId === d.id)
      .map((a) => ({
        attempt: a.attempt,
        at: a.attemptedAt.toISOString(),
        succeeded: a.succeeded,
        responseCode: a.responseCode,
        latencyMs: a.latencyMs,
        responseBody: a.responseBody,
        error: a.error,
      })),
  }));
}

/** The request body each of the org's deliveries sends (by delivery id): the portal shows it. */
export async function deliveryPayloads(orgId: string, deliveryIds: string[]): Promise<Record<string, string>> {
  if (deliveryIds.length === 0) return {};
  const rows = await db
    .select({ id: schema.webhookDeliveries.id, event: schema.events })
    .from(schema.webhookDeliveries)
    .innerJoin(schema.events, eq(schema.events.id, schema.webhookDeliveries.eventId))
    .where(and(eq(schema.webhookDeliveries.orgId, orgId), inArray(schema.webhookDeliveries.id, deliveryIds)));
  return Object.fromEntries(rows.map((r) => [r.id, webhookPayload(r.event)]));
}

/** Sends a delivery again now (a person's retry: also after it failed for good). */
export async function retryDelivery(input: Actor & { id: string }) {
  const [d] = await db
    .select()
    .from(schema.webhookDeliveries)
    .where(and(eq(schema.webhookDeliveries.id, input.id), eq(schema.webhookDeliveries.orgId, input.orgId)));
  if (!d) throw NotFound("Delivery");
  await db.transaction(async (tx) => {
    await markDeliveryPending(d.id, tx);
    await appendAudit({ ...input, action: "webhook_delivery.retried", target: d.id }, tx);
    await enqueueDelivery(d.id, 0, tx, true);
  });
  return { id: d.id, status: "pending" };
}
