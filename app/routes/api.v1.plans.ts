import { apiRoute, ok } from "~/server/platform/http.server";
import { listPlans } from "~/server/billing/plans.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

// Public: the plan catalog from PLANS_CONFIG.
export const loader = apiRoute(async (_request, ctx) => ok(ctx, { plans: listPlans().map(({ billedAs: _b, ...plan }) => plan) }), { needsDatabase: false });

export const action = methodNotAllowed("GET");
