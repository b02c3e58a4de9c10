// GET /api/v1/usage/history against the real app and Postgres: the points add up exactly to the
// counters (and, per key, to the ledger) for every granularity, grouping and time zone, including
// zones whose offset is not whole hours and a daylight-saving change; the CSV is the JSON; bad
// input is a 400 in the envelope.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../test/app";
import { signIn } from "../../test/billing";
import { api, orgWithKey, rid } from "../../test/factories";
import { createApiKey } from "../server/auth/keys.server";
import { currentCatalog, publishCatalog } from "../server/billing/catalog.server";
import type { Catalog } from "../server/domain/catalog.server";
import { sql } from "../server/platform/db.server";
import { usageByKeySince } from "../server/usage/history.server";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app.stop();
});

type Series = { metric: string; keyId?: string | null; total: number; points: { start: string; quantity: number }[] };
type History = { from: string; to: string; granularity: string; groupBy: string; tz: string; series: Series[] };

const history = async (key: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${app.url}/api/v1/usage/history?${new URLSearchParams(params)}`, { headers: { authorization: `Bearer ${key}`, ...headers } });
const historyData = async (key: string, params: Record<string, string>): Promise<History> => {
  const r = await history(key, params);
  const body = (await r.json()) as { ok: boolean; data: History; error?: unknown };
  expect(r.status, JSON.stringify(body.error)).toBe(200);
  return body.data;
};

const ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Adelaide", "Pacific/Chatham", "Pacific/Kiritimati"];
const GRANULARITIES = ["hour", "day", "month"] as const;

/** Sum of the series' points per metric (and key, when grouped by key). */
function sums(h: History): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of h.series) {
    const id = h.groupBy === "key" ? `${s.metric}/${s.keyId ?? ""}` : s.metric;
    const sum = s.points.reduce((n, p) => n + p.quantity, 0);
    expect(sum).toBe(s.total);
    out[id] = (out[id] ?? 0) + sum;
  }
  return out;
}

describe("usage history adds up to the counters", () => {
  test("every granularity, grouping and time zone, over usage of two keys, several metrics and no key", async () => {
    const { orgId, key, keyId } = await orgWithKey();
    const second = await createApiKey({ orgId, name: "second" });
    const c1 = api(app.url, key);
    const c2 = api(app.url, second.key);
    for (const q of [3, 5]) expect((await c1.record({ request_id: rid(), quantity: q })).status).toBe(200);
    expect((await c2.record({ request_id: rid(), quantities: { api_call: 2, tokens: 700 } })).status).toBe(200);
    expect((await c2.record({ request_id: rid(), metric: "tokens", quantity: 41 })).status).toBe(200);
    await sql`select 1 from record_usage(${[orgId]}::text[], ${[rid()]}::text[], '{api_call}', '{4}', '3 days'::interval)`;

    const counters = Object.fromEntries(
      (await sql<{ metric: string; used: number }[]>`select metric, used::int from usage_counters where org_id = ${orgId}`).map((r) => [r.metric, r.used]),
    );
    expect(counters).toEqual({ api_call: 14, tokens: 741 });
    const perKey = { [`api_call/${keyId}`]: 8, [`api_call/${second.id}`]: 2, [`tokens/${second.id}`]: 741, "api_call/": 4 };

    const now = Date.now();
    const from = new Date(now - 2 * 86_400_000).toISOString();
    const to = new Date(now + 86_400_000).toISOString();
    for (const tz of ZONES) {
      for (const granularity of GRANULARITIES) {
        const byMetric = await historyData(key, { from, to, granularity, tz });
        expect(sums(byMetric)).toEqual(counters);
        expect(byMetric.series.every((s) => !("keyId" in s))).toBe(true);
        const byKey = await historyData(key, { from, to, granularity, tz, groupBy: "key" });
        expect(sums(byKey)).toEqual(perKey);
        // Buckets follow one another without gaps, each labelled in the zone.
        const starts = byKey.series[0].points.map((p) => Date.parse(p.start));
        expect(starts).toEqual([...starts].sort((a, b) => a - b));
        expect(byKey.from).toBe(byKey.series[0].points[0].start);
      }
    }
    const tokensOnly = await historyData(key, { from, to, metric: "tokens" });
    expect(tokensOnly.series.map((s) => [s.metric, s.total])).toEqual([["tokens", 741]]);
  });

  test("a daylight-saving change (America/New_York, 2026-11-01): a 25-hour day, two 01:00 hours, sums equal to the counter", async () => {
    const { orgId, key, keyId } = await orgWithKey();
    const second = await createApiKey({ orgId, name: "second" });
    // Usage recorded now through the API, then its hourly rows moved to hours around the change
    // (the counter keeps what it counted; only the hours move).
    const hours: [string, number, "first" | "second"][] = [
      ["2026-10-31T03:00:00Z", 1, "first"], // Oct 30, 23:00 EDT
      ["2026-10-31T04:00:00Z", 2, "second"], // Oct 31, 00:00 EDT
      ["2026-11-01T03:00:00Z", 4, "first"], // Oct 31, 23:00 EDT
      ["2026-11-01T04:00:00Z", 8, "first"], // Nov 1, 00:00 EDT
      ["2026-11-01T05:00:00Z", 16, "second"], // Nov 1, 01:00 EDT
      ["2026-11-01T06:00:00Z", 32, "first"], // Nov 1, 01:00 EST
      ["2026-11-01T07:00:00Z", 64, "second"], // Nov 1, 02:00 EST
      ["2026-11-02T04:00:00Z", 128, "first"], // Nov 1, 23:00 EST
      ["2026-11-02T05:00:00Z", 256, "second"], // Nov 2, 00:00 EST
    ];
    for (const [hour, quantity, which] of hours) {
      const client = api(app.url, which === "first" ? key : second.key);
      expect((await client.record({ request_id: rid(), quantity })).status).toBe(200);
      await sql`update usage_hourly set hour = ${hour}::timestamptz where org_id = ${orgId} and hour > now() - interval '2 hours'`;
    }
    const [{ used }] = await sql<{ used: number }[]>`select used::int from usage_counters where org_id = ${orgId}`;
    expect(used).toBe(511);

    const tz = "America/New_York";
    const days = await historyData(key, { from: "2026-10-30", to: "2026-11-03", granularity: "day", tz });
    expect(days.from).toBe("2026-10-30T00:00:00-04:00");
    expect(days.to).toBe("2026-11-03T00:00:00-05:00");
    expect(days.series).toEqual([
      {
        metric: "api_call",
        total: 511,
        points: [
          { start: "2026-10-30T00:00:00-04:00", quantity: 1 },
          { start: "2026-10-31T00:00:00-04:00", quantity: 2 + 4 },
          { start: "2026-11-01T00:00:00-04:00", quantity: 8 + 16 + 32 + 64 + 128 },
          { start: "2026-11-02T00:00:00-05:00", quantity: 256 },
        ],
      },
    ]);
    const hourly = await historyData(key, { from: "2026-11-01T04:00:00Z", to: "2026-11-01T08:00:00Z", granularity: "hour", tz, groupBy: "key" });
    expect(hourly.series.map((s) => s.keyId)).toEqual([keyId, second.id].sort());
    const byKey = Object.fromEntries(hourly.series.map((s) => [s.keyId, s.points.map((p) => `${p.start}=${p.quantity}`)]));
    expect(byKey[keyId]).toEqual(["2026-11-01T00:00:00-04:00=8", "2026-11-01T01:00:00-04:00=0", "2026-11-01T01:00:00-05:00=32", "2026-11-01T02:00:00-05:00=0"]);
    expect(byKey[second.id]).toEqual([
      "2026-11-01T00:00:00-04:00=0",
      "2026-11-01T01:00:00-04:00=16",
      "2026-11-01T01:00:00-05:00=0",
      "2026-11-01T02:00:00-05:00=64",
    ]);
    const months = await historyData(key, { from: "2026-10-01", to: "2026-12-01", granularity: "month", tz });
    expect(months.series[0].points).toEqual([
      { start: "2026-10-01T00:00:00-04:00", quantity: 1 + 2 + 4 },
      { start: "2026-11-01T00:00:00-04:00", quantity: 504 },
    ]);
    // A zone whose offset is not whole hours: every hour in exactly one day, nothing lost.
    for (const zone of ["Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham"]) {
      const d = await historyData(key, { from: "2026-10-29", to: "2026-11-04", granularity: "day", tz: zone, groupBy: "key" });
      expect(d.series.reduce((n, s) => n + s.total, 0)).toBe(used);
    }
  });
});

describe("labels", () => {
  test("an offset with seconds (New York's local mean time, -04:56:02, until noon 1883-11-18) labels the exact instant, at the offset rounded to the minute", async () => {
    const { orgId, key } = await orgWithKey();
    expect((await api(app.url, key).record({ request_id: rid(), quantity: 3 })).status).toBe(200);
    await sql`update usage_hourly set hour = '1883-11-18T16:00:00Z' where org_id = ${orgId}`;
    const tz = "America/New_York";
    const hours = await historyData(key, { from: "1883-11-18T15:00Z", to: "1883-11-18T18:00Z", granularity: "hour", tz });
    // 16:00Z is 11:03:58 local mean time: shown as 11:04:00 at -04:56, which is 16:00Z.
    expect(hours.series[0].points).toEqual([
      { start: "1883-11-18T10:04:00-04:56", quantity: 0 },
      { start: "1883-11-18T11:04:00-04:56", quantity: 3 },
      { start: "1883-11-18T12:00:00-05:00", quantity: 0 },
    ]);
    expect(hours.series[0].points.map((p) => new Date(p.start).toISOString())).toEqual([
      "1883-11-18T15:00:00.000Z",
      "1883-11-18T16:00:00.000Z",
      "1883-11-18T17:00:00.000Z",
    ]);
    // The day that starts at local mean midnight (04:56:02Z) is labelled two seconds past it, at -04:56.
    const days = await historyData(key, { from: "1883-11-18", to: "1883-11-20", tz });
    expect(days.series[0].points).toEqual([
      { start: "1883-11-18T00:00:02-04:56", quantity: 3 },
      { start: "1883-11-19T00:00:00-05:00", quantity: 0 },
    ]);
    expect(Date.parse(days.from)).toBe(Date.parse("1883-11-18T04:56:02Z"));
    expect(days.to).toBe("1883-11-20T00:00:00-05:00");
    // A label is a valid input: reading from it answers the same buckets.
    expect((await historyData(key, { from: hours.from, to: hours.to, granularity: "hour", tz })).series).toEqual(hours.series);
  });
});

describe("metrics", () => {
  test("a metric an older catalog metered keeps its history", async () => {
    const { orgId, key } = await orgWithKey();
    const current = (await currentCatalog())!.content as Catalog;
    const metering = structuredClone(current);
    metering.features.images = { type: "metered", unit: "image" };
    expect((await publishCatalog({ content: metering, source: "test" })).published).toBe(true);
    expect((await publishCatalog({ content: current, source: "test" })).published).toBe(true);
    // Its usage, as the rollup kept it from when it was metered.
    expect((await api(app.url, key).record({ request_id: rid(), quantity: 7 })).status).toBe(200);
    await sql`update usage_hourly set metric = 'images' where org_id = ${orgId}`;
    const params = { from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString(), metric: "images" };
    const images = await historyData(key, params);
    expect(images.series.map((s) => [s.metric, s.total])).toEqual([["images", 7]]);
  });
});

/** A CSV answer parsed into its lines' cells (the cells here never need quoting). */
const csvLines = (text: string) =>
  text
    .trimEnd()
    .split("\r\n")
    .map((line) => line.split(","));

describe("CSV", () => {
  test("format=csv and Accept: text/csv answer the same points as the JSON, for both groupings", async () => {
    const { orgId, key } = await orgWithKey();
    const c = api(app.url, key);
    expect((await c.record({ request_id: rid(), quantities: { api_call: 3, tokens: 90 } })).status).toBe(200);
    // and some usage without a key: an empty keyId cell
    await sql`select 1 from record_usage(${[orgId]}::text[], ${[rid()]}::text[], '{api_call}', '{1}', '1 day'::interval)`;
    const params = { from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString(), tz: "Asia/Kolkata" };
    for (const groupBy of ["metric", "key"]) {
      for (const granularity of GRANULARITIES) {
        const json = await historyData(key, { ...params, groupBy, granularity });
        const expected = [
          groupBy === "key" ? ["metric", "keyId", "start", "quantity"] : ["metric", "start", "quantity"],
          ...json.series.flatMap((s) =>
            s.points.map((p) => (groupBy === "key" ? [s.metric, s.keyId ?? "", p.start, String(p.quantity)] : [s.metric, p.start, String(p.quantity)])),
          ),
        ];
        const byParam = await history(key, { ...params, groupBy, granularity, format: "csv" });
        expect(byParam.status).toBe(200);
        expect(byParam.headers.get("content-type")).toBe("text/csv; charset=utf-8");
        expect(byParam.headers.get("content-disposition")).toMatch(/^attachment; filename="usage-[a-z]+-[\d-]+-to-[\d-]+\.csv"$/);
        expect(byParam.headers.get("x-request-id")).toBeTruthy();
        const text = await byParam.text();
        expect(csvLines(text)).toEqual(expected);
        const byAccept = await history(key, { ...params, groupBy, granularity }, { accept: "text/csv" });
        expect(await byAccept.text()).toBe(text);
      }
    }
    // format=json wins over Accept.
    const forced = await history(key, { ...params, format: "json" }, { accept: "text/csv" });
    expect(forced.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });

  test("the portal session reads it too (the dashboard's download)", async () => {
    const { orgId, key } = await orgWithKey();
    expect((await api(app.url, key).record({ request_id: rid(), quantity: 6 })).status).toBe(200);
    const cookie = await signIn(app, orgId);
    const params = new URLSearchParams({
      from: new Date(Date.now() - 86_400_000).toISOString(),
      to: new Date(Date.now() + 3_600_000).toISOString(),
      format: "csv",
    });
    const r = await fetch(`${app.url}/api/v1/usage/history?${params}`, { headers: { cookie } });
    expect(r.status).toBe(200);
    const lines = csvLines(await r.text());
    expect(lines[0]).toEqual(["metric", "start", "quantity"]);
    expect(lines.slice(1).reduce((n, l) => n + Number(l[2]), 0)).toBe(6);
  });
});

describe("bad input", () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ["an unknown time zone", { from: "2026-11-01", to: "2026-11-02", tz: "Mars/Olympus_Mons" }, /Unknown time zone/],
    ["a POSIX offset for a zone", { from: "2026-11-01", to: "2026-11-02", tz: "+05:30" }, /Unknown time zone/],
    ["from after to", { from: "2026-11-03", to: "2026-11-02" }, /"to" must be after "from"/],
    ["from equal to to", { from: "2026-11-02T00:00:00Z", to: "2026-11-02T00:00:00Z" }, /"to" must be after "from"/],
    ["too long for hours", { from: "2026-10-01", to: "2026-11-15", granularity: "hour" }, /at most 31 days/],
    ["too long for days", { from: "2025-01-01", to: "2026-11-15", granularity: "day" }, /at most 400 days/],
    ["too long for months", { from: "2020-01-01", to: "2026-11-15", granularity: "month" }, /at most 1100 days/],
    ["a date that does not exist", { from: "2026-02-30", to: "2026-03-02" }, /real dates/],
    ["a date in words", { from: "yesterday", to: "2026-11-02" }, /from/],
    // Offsets past any zone's (UTC−12 to UTC+14): refused by the schema, never reaching Postgres (its ±15:59 was a 500).
    ["an offset no zone has", { from: "2026-12-01", to: "2026-12-10T00:00:00-16:00" }, /to/],
    ["an offset of 18 hours", { from: "2026-12-01T00:00:00+18:00", to: "2026-12-10" }, /from/],
    ["an offset's minutes past 59", { from: "2026-12-01T00:00:00+05:99", to: "2026-12-10" }, /from/],
    // Times that do not exist, which Postgres would roll over to the next day.
    ["an hour 24", { from: "2026-12-01T24:00:00Z", to: "2026-12-10" }, /from/],
    ["a 60th second", { from: "2026-12-01T23:59:60Z", to: "2026-12-10" }, /from/],
    ["a 60th minute", { from: "2026-12-01T23:60Z", to: "2026-12-10" }, /from/],
    ["an offset past +14:00", { from: "2026-12-01T00:00:00+14:59", to: "2026-12-10" }, /from/],
    ["an offset past -12:00", { from: "2026-12-01", to: "2026-12-10T00:00:00-12:30" }, /to/],
    ["a missing to", { from: "2026-11-01" }, /to/],
    ["an unknown granularity", { from: "2026-11-01", to: "2026-11-02", granularity: "week" }, /granularity/],
    ["an unknown grouping", { from: "2026-11-01", to: "2026-11-02", groupBy: "team" }, /groupBy/],
    ["an unknown format", { from: "2026-11-01", to: "2026-11-02", format: "xml" }, /format/],
    ["an unknown parameter", { from: "2026-11-01", to: "2026-11-02", org: "org_other" }, /./],
  ];
  for (const [name, params, message] of cases) {
    test(`${name}: 400 VALIDATION_FAILED in the envelope, even when CSV is asked`, async () => {
      const { key } = await orgWithKey();
      const r = await history(key, { ...params }, { accept: "text/csv" });
      expect(r.status).toBe(400);
      expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
      const body = (await r.json()) as { ok: boolean; error: { code: string; message: string } };
      expect(body.ok).toBe(false);
      expect(body.error.code).toBe("VALIDATION_FAILED");
      expect(body.error.message).toMatch(message);
      expect(JSON.stringify(body)).not.toMatch(/select |postgres|at .*\.ts:\d+/i);
    });
  }

  // A widened bucket would be labelled in a year RFC 3339 cannot write (10000, or 1 BC).
  const outsideTheYears: [string, Record<string, string>, "from" | "to"][] = [
    ["a month past 9999", { from: "9999-12-30", to: "9999-12-31T12:00Z", granularity: "month" }, "to"],
    ["the last day of 9999 (it ends in 10000)", { from: "9999-12-30", to: "9999-12-31T12:00Z" }, "to"],
    ["a day past 9999 in Kiritimati (+14:00)", { from: "9999-12-29", to: "9999-12-31T00:00Z", tz: "Pacific/Kiritimati" }, "to"],
    ["an hour past 9999 in Kiritimati", { from: "9999-12-31T08:00Z", to: "9999-12-31T12:00Z", granularity: "hour", tz: "Pacific/Kiritimati" }, "to"],
    ["an hour before the year 1", { from: "0001-01-01T05:00:00+14:00", to: "0001-01-02", granularity: "hour" }, "from"],
    ["a day before the year 1 in New York", { from: "0001-01-01T02:00Z", to: "0001-01-02T02:00Z", tz: "America/New_York" }, "from"],
  ];
  for (const [name, params, path] of outsideTheYears) {
    test(`${name}: 400 VALIDATION_FAILED naming "${path}", never a label that is not a date`, async () => {
      const { key } = await orgWithKey();
      const r = await history(key, params);
      const body = (await r.json()) as { error: { code: string; message: string; details: { issues: { path: string }[] } } };
      expect([r.status, body.error.code, body.error.details.issues.map((i) => i.path)]).toEqual([400, "VALIDATION_FAILED", [path]]);
      expect(body.error.message).toMatch(/0001 to 9999/);
    });
  }

  test("the earliest and latest ranges the labels can write still answer", async () => {
    const { key } = await orgWithKey();
    const late = await historyData(key, { from: "9999-12-29", to: "9999-12-31", granularity: "day" });
    expect([late.from, late.to]).toEqual(["9999-12-29T00:00:00+00:00", "9999-12-31T00:00:00+00:00"]);
    const early = await historyData(key, { from: "0001-01-01", to: "0001-01-03", granularity: "day" });
    expect([early.from, early.to]).toEqual(["0001-01-01T00:00:00+00:00", "0001-01-03T00:00:00+00:00"]);
  });

  test("the widest offsets, +14:00 and -12:00, still answer", async () => {
    const { key } = await orgWithKey();
    const edges = await historyData(key, { from: "2026-12-01T00:00:00+14:00", to: "2026-12-02T00:00:00-12:00", granularity: "hour" });
    expect([edges.from, edges.to]).toEqual(["2026-11-30T10:00:00+00:00", "2026-12-02T12:00:00+00:00"]);
  });

  test("a metric the catalog never metered is 400 VALIDATION_FAILED, as the quota check answers", async () => {
    const { key } = await orgWithKey();
    for (const metric of ["nope", "seats"]) {
      const r = await history(key, { from: "2026-11-01", to: "2026-11-02", metric });
      const body = (await r.json()) as { error: { code: string; message: string; details: { issues: { path: string }[] } } };
      expect([r.status, body.error.code, body.error.details.issues.map((i) => i.path)]).toEqual([400, "VALIDATION_FAILED", ["metric"]]);
      expect(body.error.message).toContain(`"${metric}" is not a metered feature of the catalog`);
      const quota = await fetch(`${app.url}/api/v1/quota?metric=${metric}`, { headers: { authorization: `Bearer ${key}` } });
      expect([quota.status, ((await quota.json()) as { error: { code: string } }).error.code]).toEqual([400, "VALIDATION_FAILED"]);
    }
  });

  test("no credentials is a 401", async () => {
    const r = await fetch(`${app.url}/api/v1/usage/history?from=2026-11-01&to=2026-11-02`);
    expect(r.status).toBe(401);
  });
});

describe("the keys page's usage this period", () => {
  test("each key's usage of the period, per metric, and the page shows it with the last use, relative", async () => {
    const { orgId, key, keyId } = await orgWithKey();
    const second = await createApiKey({ orgId, name: "second" });
    expect((await api(app.url, key).record({ request_id: rid(), quantity: 8 })).status).toBe(200);
    expect((await api(app.url, second.key).record({ request_id: rid(), quantities: { api_call: 1, tokens: 1500 } })).status).toBe(200);
    const [{ start }] = await sql<{ start: string }[]>`select period_start::text as start from subscriptions where org_id = ${orgId}`;
    expect(await usageByKeySince(orgId, start)).toEqual({ [keyId]: { api_call: 8 }, [second.id]: { api_call: 1, tokens: 1500 } });
    await sql`update api_keys set last_used_at = now() - interval '3 minutes' where id = ${keyId}`;
    const cookie = await signIn(app, orgId);
    const page = await fetch(`${app.url}/keys`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Usage this period");
    expect(html).toContain("8 calls");
    expect(html).toContain("1 call · 1,500 tokens");
    expect(html).toContain("3 minutes ago");
  });
});
