// Health: database, Redis (if configured), job queue, configuration and Stripe's breaker. 200 when
// every required check passes, 503 otherwise. Reveals no secret and no org data.

import { json, wrapError, wrapSuccess } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";
import { runHealthChecks } from "~/server/ops/health.server";
import { log } from "~/server/platform/log.server";

export const route = apiRoute({
  GET: {
    auth: "none",
    // It runs its checks even while the database breaker is open: that is when it is read.
    needsDatabase: false,
    handle: async (_args, ctx) => {
      const report = await runHealthChecks();
      log.info({ corr_id: ctx.corrId, request_id: ctx.requestId, diag: report }, "diagnostic frame");
      return report.ok
        ? json(ctx, 200, wrapSuccess(report))
        : json(ctx, 503, wrapError("SERVICE_UNAVAILABLE", "A required dependency is failing.", { instanceId: report.instanceId, checks: report.checks }));
    },
  },
});
export const { loader, action } = route;
