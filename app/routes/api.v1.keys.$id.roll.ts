// POST /api/v1/keys/:id/roll gives a key of the session's org a new secret, shown once; the old
// secret keeps working for the grace period asked (default 24 h).
import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION } from "~/server/api/contract.server";
import { createdApiKey, rollKeyBody } from "~/server/api/schemas.server";
import { requireOrgKey, rollApiKey } from "~/server/auth/key-settings.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  POST: {
    auth: "session",
    role: "admin",
    resource: ({ id }, { orgId }) => requireOrgKey(orgId, id),
    body: jsonBody(rollKeyBody, "RollKeyBody", { gracePeriodSeconds: 86400 }),
    data: answer(createdApiKey, "RolledApiKey"),
    doc: {
      operationId: "rollApiKey",
      tag: "API keys",
      summary: "Roll a key (a new secret)",
      description:
        "Answers the key's new plaintext secret once; the key keeps its id, name, rate limits (one budget for both secrets) and expiry. The old secret keeps working until `previousSecretValidUntil` (`gracePeriodSeconds` from now, default 86400 = 24 h, 0 to 604800), then is refused as a revoked key is; a secret replaced by an earlier roll stops at once. A revoked key or another org's key is `NOT_FOUND`. Audit-logged.",
      errors: [...JSON_BODY, ...SESSION, "NOT_FOUND", ...ALWAYS],
    },
    handle: async ({ body, params }, ctx, { orgId }) => ok(ctx, await rollApiKey({ orgId, keyId: params.id ?? "", graceSeconds: body.gracePeriodSeconds })),
  },
});
export const { loader, action } = route;
