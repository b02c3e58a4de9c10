// POST /api/v1/webhooks/endpoints/:id/test sends a webhook.test event to that endpoint only.
import { sendTestEvent } from "~/server/notify/endpoints.server";
import { ok } from "~/server/platform/http.server";
import { apiRoute, resourceId } from "~/server/platform/route.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    handle: async ({ params }, ctx, { orgId, email }) =>
      ok(ctx, await sendTestEvent({ id: resourceId(params.id, "Webhook endpoint"), orgId, actor: email, requestId: ctx.requestId })),
  },
});
export const { loader, action } = route;
