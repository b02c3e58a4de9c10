// Converges the database to Stripe for one stored webhook event. Failures throw: graphile-worker
// retries with exponential backoff, and after max attempts the job stays failed (the dead-letter
// queue, replayable with `ops replay` or from /admin).
import type { Task } from "graphile-worker";
import { eq } from "drizzle-orm";
import { db, schema } from "../app/server/platform/db.server";
import { processStripeEvent } from "../app/server/billing/converge.server";
import { observeConvergence } from "./observe";

export type StripeEventPayload = { eventId: string };

export const stripeEvent: Task = async (payload, helpers) => {
  const { eventId } = payload as StripeEventPayload;
  const [event] = await db.select().from(schema.stripeEvents).where(eq(schema.stripeEvents.id, eventId));
  if (!event) {
    helpers.logger.warn(`stored event ${eventId} not found; nothing to do`);
    return;
  }
  await processStripeEvent(event);
  observeConvergence(event.stripeCreatedAt, event.receivedAt);
};
