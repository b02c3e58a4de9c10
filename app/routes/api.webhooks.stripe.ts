// Stripe webhooks: raw body, signature checked, stored and enqueued in one transaction, then 200.
// An unsigned post is refused before a byte of its body is read (the body is capped at the server).
import { receiveStripeEvent } from "~/server/billing/webhooks.server";
import { bodyText, ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";
import { AppError } from "~/server/platform/errors.server";

export const route = apiRoute({
  POST: {
    auth: "none",
    handle: async ({ request }, ctx) => {
      const signature = request.headers.get("stripe-signature");
      if (!signature) throw new AppError("VALIDATION_FAILED", "Missing Stripe-Signature header.");
      return ok(ctx, { received: true, ...(await receiveStripeEvent(await bodyText(request), signature)) });
    },
  },
});
export const { loader, action } = route;
