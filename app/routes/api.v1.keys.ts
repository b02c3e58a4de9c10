// API keys of the session's org: list (GET), create (POST { name }) — the key is shown once.
import { createKeyBody as body } from "~/server/api/schemas.server";
import { createApiKey, listApiKeys } from "~/server/auth/keys.server";
import { ok, parseWith, readJson } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  GET: { auth: "session", role: "admin", handle: async (_args, ctx, { orgId }) => ok(ctx, { keys: await listApiKeys(orgId) }) },
  POST: {
    auth: "session",
    role: "admin",
    handle: async ({ request }, ctx, { orgId }) => {
      const { name } = parseWith(body, await readJson(request));
      return ok(ctx, await createApiKey({ orgId, name }));
    },
  },
});
export const { loader, action } = route;
