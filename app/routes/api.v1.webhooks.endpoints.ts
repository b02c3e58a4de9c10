// Outbound webhook endpoints of the session's org: list (GET), create (POST { url, eventTypes });
// the signing secret is shown once, in the creation's answer.
import { createEndpoint, endpointInput, listEndpoints } from "~/server/notify/endpoints.server";
import { SUBSCRIBABLE_TYPES } from "~/server/events/outbox.server";
import { ok, parseWith, readJson } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  GET: {
    auth: "session",
    role: "admin",
    handle: async (_args, ctx, { orgId }) => ok(ctx, { endpoints: await listEndpoints(orgId), eventTypes: SUBSCRIBABLE_TYPES }),
  },
  POST: {
    auth: "session",
    role: "admin",
    handle: async ({ request }, ctx, { orgId, email }) => {
      const input = parseWith(endpointInput, await readJson(request));
      return ok(ctx, await createEndpoint({ ...input, orgId, actor: email, requestId: ctx.requestId }));
    },
  },
});
export const { loader, action } = route;
