// A key of the session's org (another org's key: 404): PATCH renames it or changes its rate
// limits or expiry; DELETE revokes it.
import { ALWAYS, answer, JSON_BODY, jsonBody, SESSION } from "~/server/api/contract.server";
import { apiKeyListItem, revokedApiKey, updateKeyBody } from "~/server/api/schemas.server";
import { requireOrgKey, updateApiKey } from "~/server/auth/key-settings.server";
import { revokeApiKey } from "~/server/auth/keys.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  PATCH: {
    auth: "session",
    role: "admin",
    resource: ({ id }, { orgId }) => requireOrgKey(orgId, id),
    body: jsonBody(updateKeyBody, "UpdateKeyBody", { name: "ci runner", rateLimits: [{ limit: 50, windowSeconds: 1 }] }),
    data: answer(apiKeyListItem, "ApiKey"),
    doc: {
      operationId: "updateApiKey",
      tag: "API keys",
      summary: "Rename a key, or change its rate limits or expiry",
      description:
        "Changes the fields sent: `name`, `rateLimits` (`null`: the org's default applies, `[]`: none) and `expiresAt` (`null`: never). Applies on every app process within a few seconds (the key lookup cache). A revoked key or another org's key is `NOT_FOUND`. Audit-logged with the values before and after.",
      errors: [...JSON_BODY, ...SESSION, "NOT_FOUND", ...ALWAYS],
    },
    handle: async ({ body, params }, ctx, { orgId }) => ok(ctx, await updateApiKey({ orgId, keyId: params.id ?? "", changes: body })),
  },
  DELETE: {
    auth: "session",
    role: "admin",
    data: answer(revokedApiKey, "RevokedApiKey"),
    doc: {
      operationId: "revokeApiKey",
      tag: "API keys",
      summary: "Revoke an API key",
      description: "Revokes a key of the session's org; it fails everywhere within a few seconds. Another org's key is `NOT_FOUND`.",
      errors: [...SESSION, "NOT_FOUND", ...ALWAYS],
    },
    // revokeApiKey checks the id's shape itself (anything else names no key: 404).
    handle: async ({ params }, ctx, { orgId }) => ok(ctx, await revokeApiKey({ keyId: params.id ?? "", orgId })),
  },
});
export const { loader, action } = route;
