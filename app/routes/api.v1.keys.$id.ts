// DELETE /api/v1/keys/:id revokes a key of the session's org (another org's key: 404).
import { ALWAYS, answer, SESSION } from "~/server/api/contract.server";
import { revokedApiKey } from "~/server/api/schemas.server";
import { revokeApiKey } from "~/server/auth/keys.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
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
