// Sign out everywhere: ends every session of a person, in every org (platform admins).
import { revokeSessionsInput, revokeSessionsOf } from "~/server/auth/session-store.server";
import { ok, parseWith, readJson } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  POST: {
    auth: "admin",
    handle: async ({ request }, ctx) => ok(ctx, await revokeSessionsOf(parseWith(revokeSessionsInput, await readJson(request)))),
  },
});
export const { loader, action } = route;
