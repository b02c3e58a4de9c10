import { requireSession } from "~/server/auth/session.server";
import { openPortal } from "~/server/billing/billing.server";
import { apiRoute, ok } from "~/server/platform/http.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  return ok(ctx, await openPortal(session.orgId));
});

export const loader = methodNotAllowed("POST");
