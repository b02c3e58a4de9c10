// Stripe webhooks: raw body, signature checked, stored and enqueued in one transaction, then 200.
import { apiRoute, ok } from "~/server/http.server";
import { receiveStripeEvent } from "~/server/billing/webhooks.server";
import { methodNotAllowed } from "~/server/routing.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  const raw = await request.text();
  const result = await receiveStripeEvent(raw, request.headers.get("stripe-signature"));
  return ok(ctx, { received: true, ...result });
});

export const loader = methodNotAllowed("POST");
