import { startCheckout } from "~/server/billing/checkout.server";
import { planCodeBody as body } from "~/server/billing/plans.server";
import { ok, parseWith, readJson } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    handle: async ({ request }, ctx, { orgId }) => {
      const { planCode } = parseWith(body, await readJson(request));
      return ok(ctx, await startCheckout(orgId, planCode));
    },
  },
});
export const { loader, action } = route;
