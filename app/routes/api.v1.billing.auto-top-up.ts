// The org's auto top-ups: read them (GET), or set one metric's (PUT { metric, below, packs, enabled }).
import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION } from "~/server/api/contract.server";
import { autoTopUpBody, autoTopUpSettings } from "~/server/api/schemas.server";
import { autoTopUpSettingsOf, setAutoTopUp } from "~/server/billing/spend-cap.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

const settings = answer(autoTopUpSettings, "AutoTopUpSettings", {
  settings: [{ metric: "api_call", below: 5000, packs: 2, enabled: true, packUnits: 10000, packPriceCents: 1000, updatedAt: "2026-11-23T10:00:00.123Z" }],
});

export const route = apiRoute({
  GET: {
    auth: "session",
    role: "admin",
    data: settings,
    doc: {
      operationId: "getAutoTopUps",
      tag: "Billing",
      summary: "Read the auto top-ups",
      description: "One setting per metric the org set: when an admission leaves fewer than `below` credits of it (from at least `below`), buy `packs` packs.",
      errors: [...SESSION, ...ALWAYS],
    },
    handle: async (_args, ctx, { orgId }) => ok(ctx, { settings: await autoTopUpSettingsOf(orgId) }),
  },
  PUT: {
    auth: "session",
    role: "admin",
    body: jsonBody(autoTopUpBody, "AutoTopUpBody", { metric: "api_call", below: 5000, packs: 2, enabled: true }),
    data: settings,
    doc: {
      operationId: "setAutoTopUp",
      tag: "Billing",
      summary: "Set an auto top-up",
      description:
        "Sets one metric's auto top-up (a metric the catalog sells no top-up pack of is `VALIDATION_FAILED`). The admission that takes the org's credits of the metric from at least `below` to fewer starts one purchase of `packs` packs, exactly once per crossing whatever the concurrency or retries. Audit-logged (`auto_top_up.updated`).",
      errors: [...JSON_BODY, ...SESSION, ...ALWAYS],
    },
    handle: async ({ body }, ctx, { orgId }) => ok(ctx, { settings: await setAutoTopUp(orgId, body) }),
  },
});
export const { loader, action } = route;
