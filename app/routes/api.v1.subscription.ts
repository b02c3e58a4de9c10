import { requireSession } from "~/server/auth.server";
import { subscriptionOverview } from "~/server/billing/billing.server";
import { apiRoute, ok } from "~/server/http.server";
import { methodNotAllowed } from "~/server/routing.server";

export const loader = apiRoute(async (request, ctx) => {
  const session = await requireSession(request);
  ctx.orgId = session.orgId;
  return ok(ctx, await subscriptionOverview(session.orgId));
});

export const action = methodNotAllowed("GET");
