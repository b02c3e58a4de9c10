// The org's default rate limits: what its keys without limits of their own are held to.
import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION } from "~/server/api/contract.server";
import { defaultRateLimits, defaultRateLimitsBody } from "~/server/api/schemas.server";
import { defaultKeyRateLimits, setDefaultKeyRateLimits } from "~/server/auth/key-settings.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  GET: {
    auth: "session",
    role: "admin",
    data: answer(defaultRateLimits, "DefaultRateLimits"),
    doc: {
      operationId: "getDefaultKeyRateLimits",
      tag: "API keys",
      summary: "The org's default key rate limits",
      description: "The limits held by every key of the org whose own `rateLimits` is `null` (null: none).",
      errors: [...SESSION, ...ALWAYS],
    },
    handle: async (_args, ctx, { orgId }) => ok(ctx, { rateLimits: await defaultKeyRateLimits(orgId) }),
  },
  PUT: {
    auth: "session",
    role: "admin",
    body: jsonBody(defaultRateLimitsBody, "DefaultRateLimitsBody", { rateLimits: [{ limit: 1000, windowSeconds: 60 }] }),
    data: answer(defaultRateLimits, "DefaultRateLimits"),
    doc: {
      operationId: "setDefaultKeyRateLimits",
      tag: "API keys",
      summary: "Set the org's default key rate limits",
      description:
        "Replaces the default (`null` or `[]`: none). A key's own limits (set at creation or with PATCH) always win over the default, `[]` included. Applies on every app process within a few seconds. Audit-logged.",
      errors: [...JSON_BODY, ...SESSION, ...ALWAYS],
    },
    handle: async ({ body }, ctx, { orgId }) =>
      ok(ctx, await setDefaultKeyRateLimits({ orgId, rateLimits: body.rateLimits && body.rateLimits.length > 0 ? body.rateLimits : null })),
  },
});
export const { loader, action } = route;
