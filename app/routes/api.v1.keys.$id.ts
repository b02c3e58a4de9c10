// DELETE /api/v1/keys/:id revokes a key of the session's org (another org's key: 404).
import { requireSession } from "~/server/auth/session.server";
import { apiRoute, ok } from "~/server/platform/http.server";
import { revokeApiKey } from "~/server/auth/keys.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "DELETE") return methodNotAllowed("DELETE")({ request });
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  // Key ids are plain characters: the segment is used as sent (an encoded byte names no key).
  const keyId = new URL(request.url).pathname.split("/").pop() ?? "";
  return ok(ctx, await revokeApiKey({ keyId, orgId: session.orgId }));
});

export const loader = methodNotAllowed("DELETE");
