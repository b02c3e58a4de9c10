// GET /api/v1/webhooks/deliveries: the org's newest deliveries, each with its attempts.
import { listDeliveries } from "~/server/notify/endpoints.server";
import { ok } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  GET: { auth: "session", role: "admin", handle: async (_args, ctx, { orgId }) => ok(ctx, { deliveries: await listDeliveries(orgId) }) },
});
export const { loader, action } = route;
