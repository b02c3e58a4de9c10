import { openPortal } from "~/server/billing/checkout.server";
import { ok } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

export const route = apiRoute({
  POST: { auth: "session", role: "admin", handle: async (_args, ctx, { orgId }) => ok(ctx, await openPortal(orgId)) },
});
export const { loader, action } = route;
