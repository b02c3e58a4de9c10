// POST /api/v1/webhooks/deliveries/:id/retry sends a delivery of the session's org again now.
import { requireSession } from "~/server/auth/session.server";
import { apiRoute, ok, resourceId } from "~/server/platform/http.server";
import { retryDelivery } from "~/server/notify/endpoints.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  const id = resourceId(request, "Delivery", 2);
  return ok(ctx, await retryDelivery({ id, orgId: session.orgId, actor: session.email, requestId: ctx.requestId }));
});

export const loader = methodNotAllowed("POST");
