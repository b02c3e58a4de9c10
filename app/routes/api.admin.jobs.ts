// Queue depth, lag and permanently failed jobs (platform admins).

import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";
import { jobStats } from "~/server/ops/jobs.server";

export const route = apiRoute({
  GET: { auth: "admin", handle: async (_args, ctx) => ok(ctx, await jobStats()) },
});
export const { loader, action } = route;
