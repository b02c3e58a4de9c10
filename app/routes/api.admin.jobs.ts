// Queue depth, lag and permanently failed jobs (platform admins).
import { requireAdmin } from "~/server/auth/admin.server";
import { jobStats } from "~/server/ops/billing.server";
import { apiRoute, ok } from "~/server/platform/http.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const loader = apiRoute(async (request, ctx) => {
  await requireAdmin(request);
  return ok(ctx, await jobStats());
});

export const action = methodNotAllowed("GET");
