import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION, STRIPE } from "~/server/api/contract.server";
import { planCodeBody, redirectUrl } from "~/server/api/schemas.server";
import { startCheckout } from "~/server/billing/checkout.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    body: jsonBody(planCodeBody, "PlanCodeBody", { planCode: "trial" }),
    data: answer(redirectUrl, "RedirectUrl"),
    doc: {
      operationId: "startCheckout",
      tag: "Billing",
      summary: "Start a Checkout",
      description:
        "A Stripe Checkout session (subscription mode) for an org without a live subscription; `trial` is the starter price with the plan's trial days; `interval: year` bills the plan's yearly price (its included units still reset monthly). Answers the URL to send the browser to.",
      errors: [...JSON_BODY, ...SESSION, ...STRIPE, ...ALWAYS],
    },
    handle: async ({ body }, ctx, { orgId }) => ok(ctx, await startCheckout(orgId, body.planCode, body.interval)),
  },
});
export const { loader, action } = route;
