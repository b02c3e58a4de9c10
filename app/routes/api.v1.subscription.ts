import { subscriptionOverview } from "~/server/billing/overview.server";
import { ok } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  GET: { auth: "session", handle: async (_args, ctx, { orgId }) => ok(ctx, await subscriptionOverview(orgId)) },
});
export const { loader, action } = route;
