import { ALWAYS, answer } from "~/server/api/contract.server";
import { subscriptionOverview as overview } from "~/server/api/schemas.server";
import { subscriptionOverview } from "~/server/billing/overview.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  GET: {
    auth: "session",
    data: answer(overview, "SubscriptionOverview"),
    doc: {
      operationId: "getSubscription",
      tag: "Billing",
      summary: "The subscription",
      description: "Plan, status, trial end, period, a scheduled downgrade, and the usage of the current period (`null` without a live subscription).",
      errors: ["UNAUTHENTICATED", ...ALWAYS],
    },
    handle: async (_args, ctx, { orgId }) => ok(ctx, await subscriptionOverview(orgId)),
  },
});
export const { loader, action } = route;
