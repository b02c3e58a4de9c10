// Public: the plans of the current catalog version.
import { answer } from "~/server/api/contract.server";
import { planList } from "~/server/api/schemas.server";
import { listPlans } from "~/server/billing/plans.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  GET: {
    auth: "none",
    needsDatabase: false,
    data: answer(planList, "PlanList"),
    doc: {
      operationId: "listPlans",
      tag: "Plans",
      summary: "List the plans",
      description:
        "Public. The plans of the current catalog: price per month (and per year, if sold yearly) in minor units, currency, included units per metered feature, trial days (for a trial). What an org's own plan version grants: `GET /api/v1/entitlements`.",
      errors: ["INTERNAL"],
    },
    handle: async (_args, ctx) => ok(ctx, { plans: listPlans().map(({ billedAs: _b, features: _f, ...plan }) => plan) }),
  },
});
export const { loader, action } = route;
