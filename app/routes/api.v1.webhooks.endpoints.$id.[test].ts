// POST /api/v1/webhooks/endpoints/:id/test sends a webhook.test event to that endpoint only.
import { requireSession } from "~/server/auth/session.server";
import { apiRoute, ok, resourceId } from "~/server/platform/http.server";
import { sendTestEvent } from "~/server/notify/endpoints.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  const id = resourceId(request, "Webhook endpoint", 2);
  return ok(ctx, await sendTestEvent({ id, orgId: session.orgId, actor: session.email, requestId: ctx.requestId }));
});

export const loader = methodNotAllowed("POST");
