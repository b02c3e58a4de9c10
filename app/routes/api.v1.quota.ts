// Quota check. Hot path: authenticate, one read, envelope. No Stripe/Stigg/Clerk call.
// Exported as a declaration (`route`): server.ts dispatches the hot path to it without the router.
import { quotaQuery as query } from "~/server/api/schemas.server";
import { observeQuotaCheck } from "~/server/observe/metrics.server";
import { ok, parseWith } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";
import { quotaFor } from "~/server/usage/engine.server";

export const route = apiRoute({
  GET: {
    auth: "key",
    observe: observeQuotaCheck,
    handle: async ({ request }, ctx, { orgId }) => {
      const { metric } = parseWith(query, Object.fromEntries(new URL(request.url).searchParams));
      return ok(ctx, await quotaFor(orgId, metric));
    },
  },
});
export const { loader, action } = route;
