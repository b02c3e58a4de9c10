// The org's usage alerts: read them (GET, one entry per metered feature), or set one feature's
// (PUT { metric, percents, creditsBelow, overageAboveCents }).
import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION } from "~/server/api/contract.server";
import { usageAlertBody, usageAlerts } from "~/server/api/schemas.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";
import { setUsageAlert, usageAlertsOf } from "~/server/notify/alerts.server";

const alerts = answer(usageAlerts, "UsageAlerts", {
  alerts: [
    { metric: "api_call", percents: [50, 80, 100], creditsBelow: 5000, overageAboveCents: 2000, custom: true },
    { metric: "tokens", percents: [80, 100], creditsBelow: null, overageAboveCents: null, custom: false },
  ],
});

export const route = apiRoute({
  GET: {
    auth: "session",
    role: "admin",
    data: alerts,
    doc: {
      operationId: "getUsageAlerts",
      tag: "Billing",
      summary: "Read the usage alerts",
      description:
        "One entry per metered feature: the percents of the included units that emit `usage.threshold_reached` (default 80 and 100), and the optional `credits.low` and `overage.threshold_reached` alerts.",
      errors: [...SESSION, ...ALWAYS],
    },
    handle: async (_args, ctx, { orgId }) => ok(ctx, { alerts: await usageAlertsOf(orgId) }),
  },
  PUT: {
    auth: "session",
    role: "admin",
    body: jsonBody(usageAlertBody, "UsageAlertBody", { metric: "api_call", percents: [50, 80, 100], creditsBelow: 5000, overageAboveCents: 2000 }),
    data: alerts,
    doc: {
      operationId: "setUsageAlert",
      tag: "Billing",
      summary: "Set a feature's usage alerts",
      description:
        "Sets one metered feature's alerts (a feature the catalog does not meter is `VALIDATION_FAILED`). Each fires once per period and threshold, by email and webhook, decided in the transaction that admits the usage crossing it. Audit-logged (`usage_alerts.updated`).",
      errors: [...JSON_BODY, ...SESSION, ...ALWAYS],
    },
    handle: async ({ body }, ctx, { orgId }) => ok(ctx, { alerts: await setUsageAlert(orgId, body) }),
  },
});
export const { loader, action } = route;
