// Record usage. Hot path: authenticate, parse, one statement (batched), envelope.
// A replay answers the first success byte for byte, plus Idempotent-Replayed: true.
import { usageBody } from "~/server/api/schemas.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/platform/http.server";
import { authenticateKey } from "~/server/auth/keys.server";
import { recordUsage } from "~/server/usage/engine.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  const { orgId } = await authenticateKey(request.headers.get("authorization"));
  ctx.orgId = orgId;
  const body = parseWith(usageBody, await readJson(request));
  const result = await recordUsage({ orgId, requestId: body.request_id, metric: body.metric, quantity: body.quantity });
  return ok(ctx, result.data, result.replayed ? { "Idempotent-Replayed": "true" } : undefined);
});

export const loader = methodNotAllowed("POST");
