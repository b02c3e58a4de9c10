// Stripe webhooks: raw body, signature checked, stored and enqueued in one transaction, then 200.
// An unsigned post is refused before a byte of its body is read (the body is capped at the server).
import { AppError } from "~/server/platform/errors.server";
import { apiRoute, ok } from "~/server/platform/http.server";
import { receiveStripeEvent } from "~/server/billing/webhooks.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  const signature = request.headers.get("stripe-signature");
  if (!signature) throw new AppError("VALIDATION_FAILED", "Missing Stripe-Signature header.");
  const result = await receiveStripeEvent(await request.text(), signature);
  return ok(ctx, { received: true, ...result });
});

export const loader = methodNotAllowed("POST");
