// Quota check. Hot path: authenticate, one read, envelope. No Stripe/Stigg/Clerk call.
import { quotaQuery as query } from "~/server/api/schemas.server";
import { apiRoute, ok, parseWith } from "~/server/platform/http.server";
import { authenticateKey } from "~/server/auth/keys.server";
import { quotaFor } from "~/server/usage/engine.server";
import { observeQuotaCheck } from "~/server/observe/metrics.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const loader = apiRoute(async (request, ctx) => {
  const started = performance.now();
  const { orgId } = await authenticateKey(request.headers.get("authorization"));
  ctx.orgId = orgId;
  const { metric } = parseWith(query, Object.fromEntries(new URL(request.url).searchParams));
  const summary = await quotaFor(orgId, metric);
  observeQuotaCheck((performance.now() - started) / 1000);
  return ok(ctx, summary);
});

export const action = methodNotAllowed("GET");
