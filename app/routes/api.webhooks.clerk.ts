// Clerk's webhooks: Svix-signed (checked by receiveClerkWebhook); answered 2xx only once applied
// (Svix retries anything else).
import { receiveClerkWebhook } from "~/server/auth/clerk-webhooks.server";
import { bodyText, ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  POST: { auth: "none", handle: async ({ request }, ctx) => ok(ctx, await receiveClerkWebhook(await bodyText(request), request.headers)) },
});
export const { loader, action } = route;
