import { ALWAYS, answer, SESSION, STRIPE } from "~/server/api/contract.server";
import { redirectUrl } from "~/server/api/schemas.server";
import { openPortal } from "~/server/billing/checkout.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    data: answer(redirectUrl, "RedirectUrl"),
    doc: {
      operationId: "openPortal",
      tag: "Billing",
      summary: "Open the billing portal",
      description: "A Stripe billing portal session for the org; answers its URL.",
      errors: [...SESSION, ...STRIPE, ...ALWAYS],
    },
    handle: async (_args, ctx, { orgId }) => ok(ctx, await openPortal(orgId)),
  },
});
export const { loader, action } = route;
