// Outbound webhook endpoints of the session's org: list (GET), create (POST { url, eventTypes });
// the signing secret is shown once, in the creation's answer.
import { requireSession } from "~/server/auth/session.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/platform/http.server";
import { createEndpoint, endpointInput, listEndpoints } from "~/server/notify/endpoints.server";
import { SUBSCRIBABLE_TYPES } from "~/server/notify/events.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const loader = apiRoute(async (request, ctx) => {
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  return ok(ctx, { endpoints: await listEndpoints(session.orgId), eventTypes: SUBSCRIBABLE_TYPES });
});

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("GET, POST")({ request });
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  const input = parseWith(endpointInput, await readJson(request));
  return ok(ctx, await createEndpoint({ ...input, orgId: session.orgId, actor: session.email, requestId: ctx.requestId }));
});
