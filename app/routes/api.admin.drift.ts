// Drift report: recorded vs reported to Stripe per org and period (platform admins).
import { requireAdmin } from "~/server/auth/admin.server";
import { driftReport } from "~/server/billing/meter-report.server";
import { apiRoute, ok } from "~/server/platform/http.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const loader = apiRoute(async (request, ctx) => {
  await requireAdmin(request);
  const periodKey = new URL(request.url).searchParams.get("periodKey") ?? undefined;
  return ok(ctx, await driftReport(periodKey && /^\d{4}-\d{2}$/.test(periodKey) ? periodKey : undefined));
});

export const action = methodNotAllowed("GET");
