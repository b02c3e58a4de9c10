// 4.1 Quota check. Hot path: authenticate, one read, envelope. No Stripe/Stigg/Clerk call.
import { z } from "zod";
import { METRICS } from "~/server/config.server";
import { apiRoute, ok, parseWith } from "~/server/http.server";
import { authenticateKey } from "~/server/keys.server";
import { quotaFor } from "~/server/usage.server";
import { observeQuotaCheck } from "~/server/metrics.server";
import { methodNotAllowed } from "~/server/routing.server";

const query = z.object({ metric: z.enum(METRICS).default("api_call") }).strict();

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
