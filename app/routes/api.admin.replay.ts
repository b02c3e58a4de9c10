// Replay of a stored webhook event or a failed job (platform admins).
import { z } from "zod";
import { requireAdmin } from "~/server/auth/admin.server";
import { replayJob } from "~/server/ops/overview.server";
import { replayStripeEvent } from "~/server/billing/webhooks.server";
import { apiRoute, ok, parseWith, readJson } from "~/server/platform/http.server";
import { methodNotAllowed } from "~/server/platform/routing.server";

const body = z.union([z.object({ eventId: z.string().regex(/^evt_\w+$/) }).strict(), z.object({ jobId: z.string().regex(/^\d+$/) }).strict()]);

export const action = apiRoute(async (request, ctx) => {
  if (request.method !== "POST") return methodNotAllowed("POST")({ request });
  await requireAdmin(request);
  const input = parseWith(body, await readJson(request));
  return ok(ctx, "eventId" in input ? await replayStripeEvent(input.eventId) : await replayJob(input.jobId));
});

export const loader = methodNotAllowed("POST");
