// Sign out everywhere: ends every session of a person, in every org (platform admins).
import { jsonBody } from "~/server/api/contract.server";
import { revokeSessionsInput, revokeSessionsOf } from "~/server/auth/session-store.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

export const route = apiRoute({
  POST: { auth: "admin", body: jsonBody(revokeSessionsInput), handle: async ({ body }, ctx) => ok(ctx, await revokeSessionsOf(body)) },
});
export const { loader, action } = route;
