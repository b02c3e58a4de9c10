// Drift report: recorded vs reported to Stripe per org and period (platform admins).
import { driftReport } from "~/server/billing/meter-report.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  GET: {
    auth: "admin",
    handle: async ({ request }, ctx) => {
      const periodKey = new URL(request.url).searchParams.get("periodKey") ?? undefined;
      return ok(ctx, await driftReport(periodKey && /^\d{4}-\d{2}$/.test(periodKey) ? periodKey : undefined));
    },
  },
});
export const { loader, action } = route;
