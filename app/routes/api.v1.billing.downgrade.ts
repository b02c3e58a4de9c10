// Downgrade at period end (POST { planCode }), or keep the current plan (DELETE).
import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION, STRIPE } from "~/server/api/contract.server";
import { planCodeBody, subscriptionSummary } from "~/server/api/schemas.server";
import { cancelDowngrade, scheduleDowngrade } from "~/server/billing/plan-change.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

const subscription = answer(subscriptionSummary, "SubscriptionSummary");

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    body: jsonBody(planCodeBody, "PlanCodeBody", { planCode: "starter" }),
    data: subscription,
    doc: {
      operationId: "scheduleDowngrade",
      tag: "Billing",
      summary: "Schedule a downgrade",
      description:
        "Makes a Stripe subscription schedule: the current price until the period end, then the lower one, so Stripe bills the lower price from the renewal and the new period's counter gets its units; `pendingPlanCode` shows it. Nothing changes before the period ends. A second downgrade replaces the first; an upgrade clears it. `interval: month` from a yearly plan (the same plan or a cheaper one) is such a change at the end of the year. A subscription set to cancel at the period end is not downgraded (`VALIDATION_FAILED`): keep it first. An org's plan changes (upgrades, downgrades, their withdrawal) are made one at a time: one sent while another is being made waits for it (up to 8 s, then `UPSTREAM_UNAVAILABLE` with `Retry-After`) and then applies to what it left.",
      errors: [...JSON_BODY, ...SESSION, "SUBSCRIPTION_INACTIVE", ...STRIPE, ...ALWAYS],
    },
    handle: async ({ body }, ctx, { orgId }) => ok(ctx, await scheduleDowngrade(orgId, body.planCode, body.interval)),
  },
  DELETE: {
    auth: "session",
    role: "admin",
    data: subscription,
    doc: {
      operationId: "cancelDowngrade",
      tag: "Billing",
      summary: "Cancel the scheduled downgrade",
      description: "Keeps the current plan after all. No scheduled downgrade (or another request withdrew it first): `NOT_FOUND`.",
      errors: [...SESSION, "NOT_FOUND", ...STRIPE, ...ALWAYS],
    },
    handle: async (_args, ctx, { orgId }) => ok(ctx, await cancelDowngrade(orgId)),
  },
});
export const { loader, action } = route;
