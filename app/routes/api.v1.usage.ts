// Record usage. Hot path: authenticate, parse, one statement (batched), envelope.
// A replay answers the first success byte for byte, plus Idempotent-Replayed: true.
// Exported as a declaration (`route`): server.ts dispatches the hot path to it without the router.
import { usageBody } from "~/server/api/schemas.server";
import { ok, parseWith, readJson } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";
import { recordUsage } from "~/server/usage/engine.server";

export const route = apiRoute({
  POST: {
    auth: "key",
    handle: async ({ request }, ctx, { orgId }) => {
      const body = parseWith(usageBody, await readJson(request));
      const result = await recordUsage({ orgId, requestId: body.request_id, metric: body.metric, quantity: body.quantity });
      return ok(ctx, result.data, result.replayed ? { "Idempotent-Replayed": "true" } : undefined);
    },
  },
});
export const { loader, action } = route;
