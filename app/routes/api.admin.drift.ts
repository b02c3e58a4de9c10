// Drift report: recorded vs reported to Stripe per org, metered feature and period (platform admins).
import { z } from "zod";
import { driftReport } from "~/server/billing/meter-report.server";
import { CATALOG_CODE } from "~/server/domain/catalog.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";

/** One period (`YYYY-MM`) and one metered feature, or all when absent; anything else is refused, not ignored. */
const driftQuery = z
  .object({
    periodKey: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "a period key, YYYY-MM")
      .optional(),
    metric: z.string().regex(CATALOG_CODE, "a feature code").optional(),
  })
  .strict();

export const route = apiRoute({
  GET: {
    auth: "admin",
    query: driftQuery,
    handle: async ({ query }, ctx) => ok(ctx, await driftReport(query.periodKey, undefined, undefined, query.metric)),
  },
});
export const { loader, action } = route;
