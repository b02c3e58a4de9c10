// Clerk's webhooks: Svix-signed; answered 2xx only once applied (Svix retries anything else).
import { receiveClerkWebhook } from "~/server/auth/clerk-webhooks.server";
import { apiRoute, ok } from "~/server/platform/http.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  return ok(ctx, await receiveClerkWebhook(await request.text(), request.headers));
});

export const loader = methodNotAllowed("POST");
