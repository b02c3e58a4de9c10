// POST /api/v1/webhooks/endpoints/:id/test sends a webhook.test event to that endpoint only.
import { ALWAYS, answer, SESSION } from "~/server/api/contract.server";
import { webhookTestSent } from "~/server/api/schemas.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute, resourceId } from "~/server/http/route.server";
import { sendTestEvent } from "~/server/notify/endpoints.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    data: answer(webhookTestSent, "WebhookTestSent"),
    doc: {
      operationId: "sendWebhookTest",
      tag: "Webhooks",
      summary: "Send a test event",
      description: "Sends a `webhook.test` event to this endpoint only; the answer names the delivery to watch.",
      errors: [...SESSION, "NOT_FOUND", ...ALWAYS],
    },
    handle: async ({ params }, ctx, { orgId, email }) =>
      ok(ctx, await sendTestEvent({ id: resourceId(params.id, "Webhook endpoint"), orgId, actor: email, requestId: ctx.requestId })),
  },
});
export const { loader, action } = route;
