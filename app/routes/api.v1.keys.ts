// API keys of the session's org: list (GET), create (POST { name }) — the key is shown once.
import { z } from "zod";
import { requireSession } from "~/server/auth.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/http.server";
import { createApiKey, listApiKeys } from "~/server/keys.server";

const body = z.object({ name: z.string().trim().min(1).max(60) }).strict();

export const loader = apiRoute(async (request, ctx) => {
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  return ok(ctx, { keys: await listApiKeys(session.orgId) });
});

export const action = apiRoute(async (request, ctx) => {
  const session = await requireSession(request, { role: "admin" });
  ctx.orgId = session.orgId;
  const { name } = parseWith(body, await readJson(request));
  return ok(ctx, await createApiKey({ orgId: session.orgId, name }));
});
