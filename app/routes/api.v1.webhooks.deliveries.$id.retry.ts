// POST /api/v1/webhooks/deliveries/:id/retry sends a delivery of the session's org again now.
import { ALWAYS, answer, SESSION } from "~/server/api/contract.server";
import { webhookDeliveryRetried } from "~/server/api/schemas.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute, resourceId } from "~/server/http/route.server";
import { retryDelivery } from "~/server/notify/endpoints.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    data: answer(webhookDeliveryRetried, "WebhookDeliveryRetried"),
    doc: {
      operationId: "retryWebhookDelivery",
      tag: "Webhooks",
      summary: "Retry a delivery",
      description: "Sends the delivery again now, also after it failed for good. Another org's delivery is `NOT_FOUND`.",
      errors: [...SESSION, "NOT_FOUND", ...ALWAYS],
    },
    handle: async ({ params }, ctx, { orgId, email }) =>
      ok(ctx, await retryDelivery({ id: resourceId(params.id, "Delivery"), orgId, actor: email, requestId: ctx.requestId })),
  },
});
export const { loader, action } = route;
