// 5.2 Upgrade now: prorated and invoiced at once; Idempotency-Key makes a retry charge nothing more.
import { requireSession } from "~/server/auth.server";
import { upgradeNow } from "~/server/billing/plan-change.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/http.server";
import { methodNotAllowed } from "~/server/routing.server";
import { planCodeBody } from "~/server/plans.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  const session = await requireSession(request);
  ctx.orgId = session.orgId;
  const { planCode } = parseWith(planCodeBody, await readJson(request));
  return ok(ctx, await upgradeNow(session.orgId, planCode, request.headers.get("idempotency-key")));
});

export const loader = methodNotAllowed("POST");
