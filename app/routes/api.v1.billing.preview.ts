// Plan change preview: Stripe's (or Stigg's) figures; nothing changes anywhere.
import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION, STRIPE } from "~/server/api/contract.server";
import { planChangePreview, planCodeBody } from "~/server/api/schemas.server";
import { previewPlanChange } from "~/server/billing/plan-change.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    body: jsonBody(planCodeBody, "PlanCodeBody", { planCode: "growth" }),
    data: answer(planChangePreview, "PlanChangePreview"),
    doc: {
      operationId: "previewPlanChange",
      tag: "Billing",
      summary: "Preview a plan change",
      description:
        "What a change would cost, changing nothing anywhere (Stigg's figures when configured, else Stripe's invoice preview, prorated to the second). Upgrade = a higher price of the same interval, or monthly → yearly, effective now with proration (another interval starts a new period now, crediting the unused time); downgrade = a lower price, or yearly → monthly, at the period end, `amountDueNow: 0`. `interval` omitted keeps the current one; the same plan and interval, or `year` for a plan without a yearly price, is `VALIDATION_FAILED`.",
      errors: [...JSON_BODY, ...SESSION, "SUBSCRIPTION_INACTIVE", ...STRIPE, ...ALWAYS],
    },
    handle: async ({ body }, ctx, { orgId }) => ok(ctx, await previewPlanChange(orgId, body.planCode, body.interval)),
  },
});
export const { loader, action } = route;
