// Drift report: recorded vs reported to Stripe per org and period (platform admins).
import { z } from "zod";
import { driftReport } from "~/server/billing/meter-report.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

/** One period (`YYYY-MM`), or every period when absent; anything else is refused, not ignored. */
const driftQuery = z
  .object({
    periodKey: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "a period key, YYYY-MM")
      .optional(),
  })
  .strict();

export const route = apiRoute({
  GET: {
    auth: "admin",
    query: driftQuery,
    handle: async ({ query }, ctx) => ok(ctx, await driftReport(query.periodKey)),
  },
});
export const { loader, action } = route;
