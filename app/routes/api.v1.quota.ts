// Quota check. Hot path: authenticate, one read, envelope. No Stripe/Stigg/Clerk call.
// Exported as a declaration (`route`): server.ts dispatches the hot path to it without the router.
import { ALWAYS, answer } from "~/server/api/contract.server";
import { quotaQuery, quotaSummary } from "~/server/api/schemas.server";
import { takeRateLimits } from "~/server/auth/rate-limits.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";
import { observeQuotaCheck } from "~/server/observe/metrics.server";
import { quotaFor } from "~/server/usage/engine.server";

export const route = apiRoute({
  GET: {
    auth: "key",
    observe: observeQuotaCheck,
    query: quotaQuery,
    data: answer(quotaSummary, "QuotaSummary", {
      allow: true,
      remaining: 49990,
      used: 10,
      included: 50000,
      metric: "api_call",
      periodKey: "2026-11",
      periodStart: "2026-11-05T00:00:00.000Z",
      periodEnd: "2026-12-05T00:00:00.000Z",
      planCode: "starter",
      status: "active",
      credits: { remaining: 0, usedThisPeriod: 0 },
      overage: null,
    }),
    doc: {
      operationId: "getQuota",
      tag: "Usage",
      summary: "Check the quota",
      description:
        "The org's usage of a metered feature (`metric`, default `api_call`; `tokens`, …) in the current period: 400 `VALIDATION_FAILED` for one the catalog does not meter, 403 `FEATURE_NOT_IN_PLAN` for one the org's plan does not include. Hot path: reads the database (or the optional Redis copy, at most 1 s old) only; never calls Stripe, Stigg or Clerk. An exhausted quota still answers 200 with `allow: false`: checking is not denied, recording is. `remaining` counts the included units left and the prepaid credits left (`credits`); on a plan that sells overage of the metric, `overage` has its price, the units and charge so far and the spend cap, and `allow` stays true while one more overage unit fits under the cap.",
      errors: ["VALIDATION_FAILED", "UNAUTHENTICATED", "SUBSCRIPTION_INACTIVE", "FEATURE_NOT_IN_PLAN", "RATE_LIMITED", ...ALWAYS],
    },
    handle: async ({ query }, ctx, key) => {
      // Only a key that carries limits pays for them: the lookup brought them, cached.
      if (key.rateLimits) await takeRateLimits(key.keyId, key.rateLimits);
      return ok(ctx, await quotaFor(key.orgId, query.metric));
    },
  },
});
export const { loader, action } = route;
