// The org's monthly overage cap: read it (GET), or set it (PUT { amountCents } or { amountCents: null }).
import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION } from "~/server/api/contract.server";
import { spendCap, spendCapBody } from "~/server/api/schemas.server";
import { setSpendCap, spendCapOf } from "~/server/billing/spend-cap.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

const cap = answer(spendCap, "SpendCap", { amountCents: 20000, chosen: true, overageCents: 1250, currency: "usd" });

export const route = apiRoute({
  GET: {
    auth: "session",
    role: "admin",
    data: cap,
    doc: {
      operationId: "getSpendCap",
      tag: "Billing",
      summary: "Read the spend cap",
      description:
        "The monthly overage cap in force and the org's overage charge so far this period. Until an admin chooses one (`chosen: false`) the cap is the monthly price of the org's plan, so overage at most doubles the bill; `amountCents: null` is no cap, chosen explicitly.",
      errors: [...SESSION, ...ALWAYS],
    },
    handle: async (_args, ctx, { orgId }) => ok(ctx, await spendCapOf(orgId)),
  },
  PUT: {
    auth: "session",
    role: "admin",
    body: jsonBody(spendCapBody, "SpendCapBody", { amountCents: 20000 }),
    data: cap,
    doc: {
      operationId: "setSpendCap",
      tag: "Billing",
      summary: "Set the spend cap",
      description:
        "Sets the monthly overage cap in cents, or `null` for none. An overage admission that would take the period's overage charge (all metered features) over it is refused with 429 `SPEND_CAP_REACHED`, from the next admission on; a cap below the charge so far admits no more overage this period and bills what was admitted. Audit-logged (`spend_cap.updated`).",
      errors: [...JSON_BODY, ...SESSION, ...ALWAYS],
    },
    handle: async ({ body }, ctx, { orgId }) => ok(ctx, await setSpendCap(orgId, body.amountCents)),
  },
});
export const { loader, action } = route;
