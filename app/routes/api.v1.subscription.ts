import { requireSession } from "~/server/auth/session.server";
import { subscriptionOverview } from "~/server/billing/billing.server";
import { apiRoute, ok } from "~/server/platform/http.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const loader = apiRoute(async (request, ctx) => {
  const session = await requireSession(request);
  ctx.orgId = session.orgId;
  return ok(ctx, await subscriptionOverview(session.orgId));
});

export const action = methodNotAllowed("GET");
