// Converges the database to Stripe for one stored webhook event, and the burst of its customer's
// events waiting behind it (billing/converge-events.server.ts). Failures throw: graphile-worker
// retries with exponential backoff, and after max attempts the job stays failed (the dead-letter
// queue, replayable with `ops replay` or from /admin).
import { convergeStoredEvent } from "../app/server/billing/converge-events.server";
import { defineTask } from "./define-task";
import { observeConvergence } from "./observe";

export const stripeEvent = defineTask("stripe_event", async ({ eventId }, helpers) => {
  const converged = await convergeStoredEvent(eventId);
  if (!converged) {
    helpers.logger.warn(`stored event ${eventId} not found; nothing to do`);
    return;
  }
  for (const receivedAt of converged.receivedAt) observeConvergence(receivedAt);
});
