// DELETE /api/v1/webhooks/endpoints/:id deletes an endpoint of the session's org (another org's: 404).
import { ALWAYS, answer, SESSION } from "~/server/api/contract.server";
import { deletedWebhookEndpoint } from "~/server/api/schemas.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute, resourceId } from "~/server/http/route.server";
import { deleteEndpoint } from "~/server/notify/endpoints.server";

export const route = apiRoute({
  DELETE: {
    auth: "session",
    role: "admin",
    data: answer(deletedWebhookEndpoint, "DeletedWebhookEndpoint"),
    doc: {
      operationId: "deleteWebhookEndpoint",
      tag: "Webhooks",
      summary: "Delete a webhook endpoint",
      description: "Stops deliveries to it; its delivery log stays readable. Another org's endpoint is `NOT_FOUND`.",
      errors: [...SESSION, "NOT_FOUND", ...ALWAYS],
    },
    handle: async ({ params }, ctx, { orgId, email }) =>
      ok(ctx, await deleteEndpoint({ id: resourceId(params.id, "Webhook endpoint"), orgId, actor: email, requestId: ctx.requestId })),
  },
});
export const { loader, action } = route;
