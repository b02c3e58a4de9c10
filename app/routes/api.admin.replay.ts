// Replay of a stored webhook event or a failed job (platform admins).
import { z } from "zod";
import { replayJob } from "~/server/ops/overview.server";
import { replayStripeEvent } from "~/server/billing/webhooks.server";
import { ok, parseWith, readJson } from "~/server/platform/http.server";
import { apiRoute } from "~/server/platform/route.server";

const body = z.union([z.object({ eventId: z.string().regex(/^evt_\w+$/) }).strict(), z.object({ jobId: z.string().regex(/^\d+$/) }).strict()]);

export const route = apiRoute({
  POST: {
    auth: "admin",
    handle: async ({ request }, ctx) => {
      const input = parseWith(body, await readJson(request));
      return ok(ctx, "eventId" in input ? await replayStripeEvent(input.eventId) : await replayJob(input.jobId));
    },
  },
});
export const { loader, action } = route;
