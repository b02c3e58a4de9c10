// Upgrade now: prorated at the preview's prorationDate and invoiced at once; a retry (same
// Idempotency-Key) answers the original success and charges nothing more.
import { requireSession } from "~/server/auth/session.server";
import { upgradeNow } from "~/server/billing/plan-change.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/platform/http.server";
import { methodNotAllowed } from "~/server/platform/routing.server";
import { upgradeBody } from "~/server/billing/plans.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  const { planCode, prorationDate } = parseWith(upgradeBody, await readJson(request));
  return ok(ctx, await upgradeNow(session.orgId, planCode, { idempotencyKey: request.headers.get("idempotency-key"), prorationDate }));
});

export const loader = methodNotAllowed("POST");
