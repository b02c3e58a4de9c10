// Public: the plan catalog from PLANS_CONFIG.
import { listPlans } from "~/server/billing/plans.server";
import { ok } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  GET: { auth: "none", needsDatabase: false, handle: async (_args, ctx) => ok(ctx, { plans: listPlans().map(({ billedAs: _b, ...plan }) => plan) }) },
});
export const { loader, action } = route;
