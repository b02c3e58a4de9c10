import { requireSession } from "~/server/auth/session.server";
import { startCheckout } from "~/server/billing/billing.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/platform/http.server";
import { methodNotAllowed } from "~/server/platform/routing.server";
import { planCodeBody as body } from "~/server/billing/plans.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  const { planCode } = parseWith(body, await readJson(request));
  return ok(ctx, await startCheckout(session.orgId, planCode));
});

export const loader = methodNotAllowed("POST");
