// Plan change preview: Stripe's (or Stigg's) figures; nothing changes anywhere.
import { previewPlanChange } from "~/server/billing/plan-change.server";
import { planCodeBody } from "~/server/billing/plans.server";
import { ok, parseWith, readJson } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    handle: async ({ request }, ctx, { orgId }) => {
      const { planCode } = parseWith(planCodeBody, await readJson(request));
      return ok(ctx, await previewPlanChange(orgId, planCode));
    },
  },
});
export const { loader, action } = route;
