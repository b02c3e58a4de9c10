// The usage history: per hour, day or month of a time zone, per metric or per metric and API key,
// as JSON or CSV. An API key or the portal session (the dashboard's CSV download). Read from the
// hourly rollup in one indexed range read; never on the hot path.
import { ALWAYS, answer } from "~/server/api/contract.server";
import { HISTORY_MAX_DAYS, historyQuery, usageHistory } from "~/server/api/schemas.server";
import { ok, withIds } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";
import { historyCsv, usageHistoryOf } from "~/server/usage/history.server";

export const route = apiRoute({
  GET: {
    auth: "key_or_session",
    query: historyQuery,
    data: answer(usageHistory, "UsageHistory", {
      from: "2026-11-01T00:00:00-04:00",
      to: "2026-11-03T00:00:00-05:00",
      granularity: "day",
      groupBy: "key",
      tz: "America/New_York",
      series: [
        {
          metric: "api_call",
          keyId: "key_01JDQ8W6Y2N4",
          total: 1532,
          points: [
            { start: "2026-11-01T00:00:00-04:00", quantity: 1200 },
            { start: "2026-11-02T00:00:00-05:00", quantity: 332 },
          ],
        },
      ],
    }),
    doc: {
      operationId: "getUsageHistory",
      tag: "Usage",
      summary: "The usage history",
      description: [
        "The org's admitted usage per bucket of `granularity` (`hour`, `day` or `month`) between `from` and `to`, one series per metric (`groupBy=metric`, the default) or per metric and API key (`groupBy=key`; `keyId` is `null` for usage recorded without a key). Every bucket of the range is a point (0 when quiet), and the points add up exactly to what the usage counters counted in those buckets: they are read from the hourly rollup that the usage record writes in the same transaction. Past periods are kept as long as the rollup is (13 months by default).",
        `Buckets: \`from\` is widened to the start of its bucket and \`to\` to the end of the bucket holding the instant just before it. Day and month buckets start at midnight in \`tz\` (an IANA name, default \`UTC\`), so a daylight-saving day has 23 or 25 hours; hour buckets are UTC hours, labelled with \`tz\`'s offset (a day that falls back has two buckets labelled 01:00, at -04:00 and -05:00). Usage is kept per UTC hour, so in a zone whose offset is not a whole number of hours (\`Asia/Kolkata\`, +05:30) the hour that straddles local midnight counts, whole, in the day it starts in. Labels are RFC 3339, the bucket's start in \`tz\` with its offset then, whole minutes: where a zone's offset had seconds (local mean time, \`America/New_York\` at -04:56:02 until 1883-11-18) the offset is rounded to the minute and the local time shown at it, so every label is the exact instant (that day starts at \`1883-11-18T00:00:02-04:56\`). Limits: a range spans at most ${HISTORY_MAX_DAYS.hour} days for \`hour\`, ${HISTORY_MAX_DAYS.day} for \`day\` and ${HISTORY_MAX_DAYS.month} for \`month\`.`,
        "CSV: `format=csv`, or `Accept: text/csv` without `format`, answers `text/csv` (a download), one line per point: `metric,start,quantity`, or `metric,keyId,start,quantity` with `groupBy=key`; the same points as the JSON. Refusals stay JSON envelopes: 400 `VALIDATION_FAILED` for an unknown time zone, a date or time that does not exist (hour 24, second 60) or an offset outside -12:00 to +14:00, `to` not after `from`, a range longer than its granularity allows or whose buckets leave the years 0001 to 9999, or a `metric` the catalog has never metered (one an older catalog version metered keeps its history), as `GET /api/v1/quota` answers.",
      ].join("\n\n"),
      errors: ["VALIDATION_FAILED", "UNAUTHENTICATED", ...ALWAYS],
      csv: "With `format=csv` or `Accept: text/csv`: one line per point, `metric,start,quantity` (`metric,keyId,start,quantity` with `groupBy=key`), after a header line.",
    },
    handle: async ({ query, request }, ctx, { orgId }) => {
      const history = await usageHistoryOf(orgId, query);
      const csv = query.format === "csv" || (query.format === undefined && (request.headers.get("accept") ?? "").includes("text/csv"));
      if (!csv) return ok(ctx, history);
      const name = `usage-${history.granularity}-${history.from.slice(0, 10)}-to-${history.to.slice(0, 10)}.csv`;
      return withIds(
        ctx,
        new Response(historyCsv(history), {
          status: 200,
          headers: { "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": `attachment; filename="${name}"`, "Cache-Control": "no-store" },
        }),
      );
    },
  },
});
export const { loader, action } = route;
