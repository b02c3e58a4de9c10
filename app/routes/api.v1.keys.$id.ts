// DELETE /api/v1/keys/:id revokes a key of the session's org (another org's key: 404).
import { revokeApiKey } from "~/server/auth/keys.server";
import { ok } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  DELETE: {
    auth: "session",
    role: "admin",
    // revokeApiKey checks the id's shape itself (anything else names no key: 404).
    handle: async ({ params }, ctx, { orgId }) => ok(ctx, await revokeApiKey({ keyId: params.id ?? "", orgId })),
  },
});
export const { loader, action } = route;
