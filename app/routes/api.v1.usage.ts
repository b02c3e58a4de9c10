// 4.2 Record usage. Hot path: authenticate, parse, one statement (batched), envelope.
// A replay answers the first success byte for byte, plus Idempotent-Replayed: true.
import { z } from "zod";
import { METRICS } from "~/server/config.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/http.server";
import { authenticateKey } from "~/server/keys.server";
import { recordUsage } from "~/server/usage.server";
import { methodNotAllowed } from "~/server/routing.server";

export const usageBody = z
  .object({
    request_id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "1–128 characters of A-Z a-z 0-9 . _ : -"),
    metric: z.enum(METRICS).default("api_call"),
    quantity: z.number().int().min(1).max(1_000_000).default(1),
  })
  .strict();

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  const { orgId } = await authenticateKey(request.headers.get("authorization"));
  ctx.orgId = orgId;
  const body = parseWith(usageBody, await readJson(request));
  const result = await recordUsage({ orgId, requestId: body.request_id, metric: body.metric, quantity: body.quantity });
  return ok(ctx, result.data, result.replayed ? { "Idempotent-Replayed": "true" } : undefined);
});

export const loader = methodNotAllowed("POST");
