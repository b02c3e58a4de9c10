// What the org may use: its plan version's features, with this period's usage. One database read,
// like the quota check; an API key or the portal session. Exported as a declaration (`route`):
// server.ts dispatches this hot read to it without the router, as it does the quota check.
import { ALWAYS, answer } from "~/server/api/contract.server";
import { entitlements } from "~/server/api/schemas.server";
import { entitlementsFor } from "~/server/billing/entitlements.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const ENTITLEMENTS_EXAMPLE = {
  plan: { code: "growth", version: 1, interval: "month" as const },
  period: { key: "2026-11", start: "2026-11-05T00:00:00.000Z", end: "2026-12-05T00:00:00.000Z" },
  features: [
    {
      feature: "api_call",
      type: "metered" as const,
      unit: "call",
      included: 250000,
      used: 1200,
      remaining: 248800,
      allow: true,
      credits: { remaining: 0, usedThisPeriod: 0 },
      overage: { priceCents: 50, per: 1000, unitsSoFar: 0, chargeCents: 0 },
    },
    { feature: "seats", type: "numeric" as const, limit: 10 },
    { feature: "sso", type: "boolean" as const, granted: false },
    {
      feature: "tokens",
      type: "metered" as const,
      unit: "token",
      included: 25000000,
      used: 0,
      remaining: 25000000,
      allow: true,
      credits: { remaining: 0, usedThisPeriod: 0 },
      overage: { priceCents: 200, per: 1000000, unitsSoFar: 0, chargeCents: 0 },
    },
    { feature: "webhooks", type: "boolean" as const, granted: true },
  ],
};

export const route = apiRoute({
  GET: {
    auth: "key_or_session",
    data: answer(entitlements, "Entitlements", ENTITLEMENTS_EXAMPLE),
    doc: {
      operationId: "getEntitlements",
      tag: "Usage",
      summary: "The entitlements",
      description:
        "The org's plan (code, the version it was bought on, interval), its current period, and every feature of the catalog as that plan version grants it: metered features with this period's `included`, `used`, `remaining` (included units left plus prepaid credits left) and `allow` (as the quota check: true while one more overage unit fits under the spend cap), `credits` and `overage` (the price, units and charge so far; `null` when the plan sells none); boolean features `granted`; numeric features their `limit` (`null`: unlimited). A feature the plan does not include is listed as not granted; a feature added to the catalog is listed within about a second of its publishing. Reads the database only, in one statement; never calls Stripe, Stigg or Clerk.",
      errors: ["UNAUTHENTICATED", "SUBSCRIPTION_INACTIVE", ...ALWAYS],
    },
    handle: async (_args, ctx, { orgId }) => ok(ctx, await entitlementsFor(orgId)),
  },
});
export const { loader, action } = route;
