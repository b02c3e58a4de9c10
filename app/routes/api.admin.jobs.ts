// Queue depth, lag and permanently failed jobs (platform admins).
import { requireAdmin } from "~/server/admin.server";
import { jobStats } from "~/server/billing/ops.server";
import { apiRoute, ok } from "~/server/http.server";
import { methodNotAllowed } from "~/server/routing.server";

export const loader = apiRoute(async (request, ctx) => {
  await requireAdmin(request);
  return ok(ctx, await jobStats());
});

export const action = methodNotAllowed("GET");
