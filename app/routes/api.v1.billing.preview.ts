// Plan change preview: Stripe's (or Stigg's) figures; nothing changes anywhere.
import { requireSession } from "~/server/auth/session.server";
import { previewPlanChange } from "~/server/billing/plan-change.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/platform/http.server";
import { methodNotAllowed } from "~/server/platform/routing.server";
import { planCodeBody } from "~/server/billing/plans.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  const { planCode } = parseWith(planCodeBody, await readJson(request));
  return ok(ctx, await previewPlanChange(session.orgId, planCode));
});

export const loader = methodNotAllowed("POST");
