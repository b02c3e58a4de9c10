// Downgrade at period end (POST { planCode }), or keep the current plan (DELETE).
import { cancelDowngrade, scheduleDowngrade } from "~/server/billing/plan-change.server";
import { planCodeBody } from "~/server/billing/plans.server";
import { ok, parseWith, readJson } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    handle: async ({ request }, ctx, { orgId }) => {
      const { planCode } = parseWith(planCodeBody, await readJson(request));
      return ok(ctx, await scheduleDowngrade(orgId, planCode));
    },
  },
  DELETE: { auth: "session", role: "admin", handle: async (_args, ctx, { orgId }) => ok(ctx, await cancelDowngrade(orgId)) },
});
export const { loader, action } = route;
