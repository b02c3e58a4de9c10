// POST /api/v1/webhooks/deliveries/:id/retry sends a delivery of the session's org again now.
import { retryDelivery } from "~/server/notify/endpoints.server";
import { ok } from "~/server/platform/http.server";
import { apiRoute, resourceId } from "~/server/platform/route.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    handle: async ({ params }, ctx, { orgId, email }) =>
      ok(ctx, await retryDelivery({ id: resourceId(params.id, "Delivery"), orgId, actor: email, requestId: ctx.requestId })),
  },
});
export const { loader, action } = route;
