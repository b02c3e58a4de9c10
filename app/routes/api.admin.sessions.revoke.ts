// Sign out everywhere: ends every session of a person, in every org (platform admins).
import { requireAdmin } from "~/server/auth/admin.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/platform/http.server";
import { methodNotAllowed } from "~/server/platform/routing.server";
import { revokeSessionsInput, revokeSessionsOf } from "~/server/auth/session-store.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  await requireAdmin(request);
  return ok(ctx, await revokeSessionsOf(parseWith(revokeSessionsInput, await readJson(request))));
});

export const loader = methodNotAllowed("POST");
