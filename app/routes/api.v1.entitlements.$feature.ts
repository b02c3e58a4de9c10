// One feature's entitlement (GET /api/v1/entitlements/:feature): a feature the catalog does not have is 404.
import { ALWAYS, answer } from "~/server/api/contract.server";
import { entitlement } from "~/server/api/schemas.server";
import { entitlementFor } from "~/server/billing/entitlements.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute, resourceId } from "~/server/http/route.server";

export const route = apiRoute({
  GET: {
    auth: "key_or_session",
    data: answer(entitlement, "Entitlement", {
      feature: "tokens",
      type: "metered",
      unit: "token",
      included: 25000000,
      used: 1532,
      remaining: 24998468,
      allow: true,
      credits: { remaining: 0, usedThisPeriod: 0 },
      overage: { priceCents: 200, per: 1000000, unitsSoFar: 0, chargeCents: 0 },
    }),
    doc: {
      operationId: "getEntitlement",
      tag: "Usage",
      summary: "One entitlement",
      description:
        "One feature of `GET /api/v1/entitlements`, as the org's plan version grants it. A feature the catalog does not have is `NOT_FOUND`. Reads the database only.",
      errors: ["UNAUTHENTICATED", "SUBSCRIPTION_INACTIVE", "NOT_FOUND", ...ALWAYS],
    },
    handle: async ({ params }, ctx, { orgId }) => ok(ctx, await entitlementFor(orgId, resourceId(params.feature, "Feature"))),
  },
});
export const { loader, action } = route;
