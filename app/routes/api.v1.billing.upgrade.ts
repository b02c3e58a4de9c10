// Upgrade now: prorated at the preview's prorationDate and invoiced at once; a retry (same
// Idempotency-Key) answers the original success and charges nothing more.
import { upgradeNow } from "~/server/billing/plan-change.server";
import { upgradeBody } from "~/server/billing/plans.server";
import { ok, parseWith, readJson } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    handle: async ({ request }, ctx, { orgId }) => {
      const { planCode, prorationDate } = parseWith(upgradeBody, await readJson(request));
      return ok(ctx, await upgradeNow(orgId, planCode, { idempotencyKey: request.headers.get("idempotency-key"), prorationDate }));
    },
  },
});
export const { loader, action } = route;
