// DELETE /api/v1/webhooks/endpoints/:id deletes an endpoint of the session's org (another org's: 404).
import { requireSession } from "~/server/auth/session.server";
import { apiRoute, ok, resourceId } from "~/server/platform/http.server";
import { deleteEndpoint } from "~/server/notify/endpoints.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "DELETE") return methodNotAllowed("DELETE")({ request });
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  const id = resourceId(request, "Webhook endpoint");
  return ok(ctx, await deleteEndpoint({ id, orgId: session.orgId, actor: session.email, requestId: ctx.requestId }));
});

export const loader = methodNotAllowed("DELETE");
