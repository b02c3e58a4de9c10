// Buy prepaid credits: `packs` packs of a metric's top-up pack. With a saved card Stripe charges it
// at once and the answer is 201 with the grant; without one, 200 with a Checkout URL. A declined
// card is 402 PAYMENT_FAILED and grants nothing. One purchase per Idempotency-Key (required).
import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION, STRIPE } from "~/server/api/contract.server";
import { topUp, topUpBody } from "~/server/api/schemas.server";
import { buyTopUp } from "~/server/billing/top-ups.server";
import { json, ok, wrapSuccess } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";
import { AppError } from "~/server/platform/errors.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    body: jsonBody(topUpBody, "TopUpBody", { metric: "api_call", packs: 2 }),
    data: answer(topUp, "TopUp", {
      status: "checkout",
      metric: "api_call",
      packs: 2,
      units: 20000,
      amountCents: 2000,
      currency: "usd",
      checkoutUrl: "https://checkout.stripe.com/c/pay/cs_test_a1",
      sessionId: "cs_test_a1",
    }),
    doc: {
      operationId: "buyTopUp",
      tag: "Billing",
      summary: "Buy a top-up",
      description:
        "Buys `packs` packs of the metric's top-up pack (the catalog's `topUps`: units and price per pack) for the org. With a saved card (the default payment method of the org's Stripe customer), Stripe charges it at once through a one-off invoice and the credits are granted before the answer: **201** with `status: granted` and the `grant` (**202** `status: pending` when Stripe confirms the payment later, as for a bank debit: the credits come with `invoice.paid`; poll `GET /api/v1/invoices` for `invoiceId`). Without one, **200** with `status: checkout` and a Checkout URL (payment mode) to send the person to; the credits are granted once Stripe confirms the payment (`checkout.session.completed` paid, or `checkout.session.async_payment_succeeded` for a payment that confirms later). Either way a payment grants once, however often and in whatever order Stripe's events arrive, and emits `credits.granted`. Credits are spent after the plan's included units and before overage, carry over between periods and expire 12 months after they are granted. A declined card is `402 PAYMENT_FAILED`: nothing is granted and the invoice is voided. The `Idempotency-Key` header is required: the same key again answers the first answer (a decline included) and charges nothing more; the same key for another metric or number of packs is `IDEMPOTENCY_CONFLICT`.",
      idempotencyKey: "required",
      alsoAnswers: {
        "201": "Charged and granted: `status: granted`, with the `grant`.",
        "202": "Charged, to be confirmed by Stripe (a payment method Stripe confirms later): `status: pending`; the credits are granted when it does.",
      },
      errors: [...JSON_BODY, ...SESSION, "PAYMENT_FAILED", "IDEMPOTENCY_CONFLICT", ...STRIPE, ...ALWAYS],
    },
    handle: async ({ request, body }, ctx, { orgId }) => {
      const bought = await buyTopUp(orgId, { metric: body.metric, packs: body.packs, idempotencyKey: request.headers.get("idempotency-key") });
      if (bought.status === "failed")
        throw new AppError("PAYMENT_FAILED", `The card was not charged: ${bought.reason} Nothing was granted.`, {
          reason: bought.reason,
          invoiceId: bought.invoiceId,
        });
      if (bought.status === "granted") return json(ctx, 201, wrapSuccess(bought));
      if (bought.status === "pending") return json(ctx, 202, wrapSuccess(bought));
      return ok(ctx, bought);
    },
  },
});
export const { loader, action } = route;
