// Replay of a stored webhook event or a failed job (platform admins).
import { z } from "zod";
import { jsonBody } from "~/server/api/contract.server";
import { replayStripeEvent } from "~/server/billing/webhooks.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";
import { replayJob } from "~/server/ops/overview.server";

const replay = z.union([z.object({ eventId: z.string().regex(/^evt_\w+$/) }).strict(), z.object({ jobId: z.string().regex(/^\d+$/) }).strict()]);

export const route = apiRoute({
  POST: {
    auth: "admin",
    body: jsonBody(replay),
    handle: async ({ body }, ctx) => ok(ctx, "eventId" in body ? await replayStripeEvent(body.eventId) : await replayJob(body.jobId)),
  },
});
export const { loader, action } = route;
