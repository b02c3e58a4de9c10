// API keys of the session's org: list (GET), create (POST { name }) — the key is shown once.
import { createKeyBody as body } from "~/server/api/schemas.server";
import { requireSession } from "~/server/auth/session.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/platform/http.server";
import { createApiKey, listApiKeys } from "~/server/auth/keys.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const loader = apiRoute(async (request, ctx) => {
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  return ok(ctx, { keys: await listApiKeys(session.orgId) });
});

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("GET, POST")({ request });
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  const { name } = parseWith(body, await readJson(request));
  return ok(ctx, await createApiKey({ orgId: session.orgId, name }));
});
