// GET /api/v1/webhooks/deliveries: the org's newest deliveries, each with its attempts.
import { requireSession } from "~/server/auth/session.server";
import { apiRoute, ok } from "~/server/platform/http.server";
import { listDeliveries } from "~/server/notify/endpoints.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const loader = apiRoute(async (request, ctx) => {
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  return ok(ctx, { deliveries: await listDeliveries(session.orgId) });
});

export const action = methodNotAllowed("GET");
