// Downgrade at period end (POST { planCode }), or keep the current plan (DELETE).
import { requireSession } from "~/server/auth/session.server";
import { cancelDowngrade, scheduleDowngrade } from "~/server/billing/plan-change.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/platform/http.server";
import { methodNotAllowed } from "~/server/platform/routing.server";
import { planCodeBody } from "~/server/billing/plans.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST" && request.method !== "DELETE") return methodNotAllowed("POST, DELETE")({ request });
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  if (request.method === "DELETE") return ok(ctx, await cancelDowngrade(session.orgId));
  const { planCode } = parseWith(planCodeBody, await readJson(request));
  return ok(ctx, await scheduleDowngrade(session.orgId, planCode));
});

export const loader = methodNotAllowed("POST, DELETE");
