// GET /api/v1/webhooks/deliveries: the org's newest deliveries, each with its attempts.
import { ALWAYS, answer, SESSION } from "~/server/api/contract.server";
import { webhookDeliveryList } from "~/server/api/schemas.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";
import { listDeliveries } from "~/server/notify/endpoints.server";

export const route = apiRoute({
  GET: {
    auth: "session",
    role: "admin",
    data: answer(webhookDeliveryList, "WebhookDeliveryList"),
    doc: {
      operationId: "listWebhookDeliveries",
      tag: "Webhooks",
      summary: "List deliveries",
      description: "The org's 50 newest deliveries, each with every attempt: status, response code, latency and the first 1 KB of the answer.",
      errors: [...SESSION, ...ALWAYS],
    },
    handle: async (_args, ctx, { orgId }) => ok(ctx, { deliveries: await listDeliveries(orgId) }),
  },
});
export const { loader, action } = route;
