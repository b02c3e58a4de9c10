// Public: the plan catalog from PLANS_CONFIG.
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
      description: "Public. The plan catalog: price per month in minor units, currency, included units per metric, trial days (for `trial`).",
      errors: ["INTERNAL"],
    },
    handle: async (_args, ctx) => ok(ctx, { plans: listPlans().map(({ billedAs: _b, ...plan }) => plan) }),
  },
});
export const { loader, action } = route;
