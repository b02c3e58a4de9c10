// Outbound webhook endpoints of the session's org: list (GET), create (POST { url, eventTypes });
// the signing secret is shown once, in the creation's answer.
import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION } from "~/server/api/contract.server";
import { createdWebhookEndpoint, webhookEndpointInput, webhookEndpointList } from "~/server/api/schemas.server";
import { SUBSCRIBABLE_TYPES } from "~/server/events/outbox.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";
import { createEndpoint, listEndpoints, MAX_WEBHOOK_ENDPOINTS } from "~/server/notify/endpoints.server";

export const route = apiRoute({
  GET: {
    auth: "session",
    role: "admin",
    data: answer(webhookEndpointList, "WebhookEndpointList"),
    doc: {
      operationId: "listWebhookEndpoints",
      tag: "Webhooks",
      summary: "List webhook endpoints",
      description: "The org's outbound webhook endpoints (without their secrets), and the event types an endpoint can subscribe to.",
      errors: [...SESSION, ...ALWAYS],
    },
    handle: async (_args, ctx, { orgId }) => ok(ctx, { endpoints: await listEndpoints(orgId), eventTypes: SUBSCRIBABLE_TYPES }),
  },
  POST: {
    auth: "session",
    role: "admin",
    body: jsonBody(webhookEndpointInput, "WebhookEndpointInput", {
      url: "https://example.com/hooks/metered",
      eventTypes: ["usage.threshold_reached", "invoice.payment_failed"],
    }),
    data: answer(createdWebhookEndpoint, "CreatedWebhookEndpoint"),
    doc: {
      operationId: "createWebhookEndpoint",
      tag: "Webhooks",
      summary: "Add a webhook endpoint",
      description: `Adds an endpoint for the given event types. Deliveries are signed per the Standard Webhooks specification with the \`whsec_…\` secret, which is shown only in this answer. A URL that could never be delivered to (http in production, a private, loopback or link-local address) is \`VALIDATION_FAILED\`. An org has at most ${MAX_WEBHOOK_ENDPOINTS} endpoints (as a Stripe account does): one more is \`VALIDATION_FAILED\` with \`details.limit\`; delete one to make room.`,
      errors: [...JSON_BODY, ...SESSION, ...ALWAYS],
    },
    handle: async ({ body }, ctx, { orgId, email }) => ok(ctx, await createEndpoint({ ...body, orgId, actor: email, requestId: ctx.requestId })),
  },
});
export const { loader, action } = route;
