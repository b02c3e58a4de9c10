// Upgrade now: prorated at the preview's prorationDate and invoiced at once; a retry (same
// Idempotency-Key) answers the original success and charges nothing more.
import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION, STRIPE } from "~/server/api/contract.server";
import { subscriptionSummary, upgradeBody } from "~/server/api/schemas.server";
import { upgradeNow } from "~/server/billing/plan-change.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    body: jsonBody(upgradeBody, "UpgradeBody", { planCode: "pro", prorationDate: 1795622400 }),
    data: answer(subscriptionSummary, "SubscriptionSummary"),
    doc: {
      operationId: "upgradeNow",
      tag: "Billing",
      summary: "Upgrade now",
      description:
        "Changes the Stripe subscription at once (prorated at the preview's `prorationDate`, invoiced now) and raises the org's included units for the current period before answering; `used` carries over. With `interval: year` from a monthly plan, Stripe starts a yearly period now (the month's unused time credited, the year invoiced, as previewed) and the first allowance month starts with it. From a trial it ends the trial; a pending downgrade is cleared. A retry with the same `Idempotency-Key` answers the original success and charges nothing more; the same key for another plan is `IDEMPOTENCY_CONFLICT`. Upgrades under different keys are made one at a time: the second waits for the first (up to 8 s, then `UPSTREAM_UNAVAILABLE` with `Retry-After`) and, if the org is then on the plan, is `VALIDATION_FAILED` (already on it), never a second change.",
      idempotencyKey: true,
      errors: [...JSON_BODY, ...SESSION, "SUBSCRIPTION_INACTIVE", "PREVIEW_EXPIRED", "IDEMPOTENCY_CONFLICT", ...STRIPE, ...ALWAYS],
    },
    handle: async ({ request, body }, ctx, { orgId }) =>
      ok(
        ctx,
        await upgradeNow(orgId, body.planCode, {
          idempotencyKey: request.headers.get("idempotency-key"),
          prorationDate: body.prorationDate,
          interval: body.interval,
        }),
      ),
  },
});
export const { loader, action } = route;
