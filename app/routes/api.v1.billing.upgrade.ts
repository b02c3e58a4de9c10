// 5.2 Upgrade now: prorated and invoiced at once; Idempotency-Key makes a retry charge nothing more.
import { requireSession } from "~/server/auth.server";
import { upgradeNow } from "~/server/billing/plan-change.server";
import { AppError } from "~/server/errors.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/http.server";
import { methodNotAllowed } from "~/server/routing.server";
import { planCodeBody } from "~/server/plans.server";

const KEY = /^[A-Za-z0-9._:-]{1,128}$/;

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  const { planCode } = parseWith(planCodeBody, await readJson(request));
  const key = request.headers.get("idempotency-key");
  if (key !== null && !KEY.test(key))
    throw new AppError("VALIDATION_FAILED", "Idempotency-Key must be 1–128 characters of A-Z a-z 0-9 . _ : -", {
      issues: [{ path: "Idempotency-Key", message: "invalid" }],
    });
  return ok(ctx, await upgradeNow(session.orgId, planCode, key));
});

export const loader = methodNotAllowed("POST");
