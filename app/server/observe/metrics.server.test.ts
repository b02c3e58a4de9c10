// GET /metrics on a real app process: the token guard, route patterns (never raw URLs), the usage
// decisions by outcome, batch sizes, quota check times, the job gauges, process metrics, the
// access log, and METRICS=off.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { api, orgWithKey, rid } from "../../../test/factories";
import { sql } from "../platform/db.server";

const TOKEN = "metrics-token-for-tests-0123456789";
let app: TestApp;

beforeAll(async () => {
  app = await startApp({ METRICS_TOKEN: TOKEN });
});
afterAll(async () => {
  await app.stop();
});

const scrape = async (token = TOKEN) => {
  const r = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, type: r.headers.get("content-type"), text: await r.text() };
};

/** The value of one sample line, e.g. value(text, 'msp_usage_decisions_total{outcome="denied"}'). */
function value(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe("GET /metrics", () => {
  test("needs the bearer token when METRICS_TOKEN is set", async () => {
    expect((await fetch(`${app.url}/metrics`)).status).toBe(401);
    expect((await scrape("wrong-token-wrong-token-0000000")).status).toBe(401);
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.type).toContain("text/plain");
    expect(ok.text).toContain("process_cpu_seconds_total");
  });

  test("counts usage decisions by outcome, batch sizes and quota checks", async () => {
    const before = (await scrape()).text;
    const { key, orgId } = await orgWithKey({ included: 3 });
    const client = api(app.url, key);
    const first = rid();
    expect((await client.record({ request_id: first, quantity: 2 })).status).toBe(200);
    expect((await client.record({ request_id: first, quantity: 2 })).status).toBe(200); // replay
    expect((await client.record({ request_id: first, quantity: 1 })).status).toBe(409); // conflict
    expect((await client.record({ request_id: rid(), quantity: 2 })).status).toBe(429); // denied
    await sql`update subscriptions set status = 'canceled' where org_id = ${orgId}`;
    expect((await client.record({ request_id: rid(), quantity: 1 })).status).toBe(402); // inactive
    await sql`update subscriptions set status = 'active' where org_id = ${orgId}`;
    expect((await client.quota()).status).toBe(200);

    const after = (await scrape()).text;
    for (const outcome of ["admitted", "replayed", "conflict", "denied", "inactive"]) {
      const series = `msp_usage_decisions_total{outcome="${outcome}"}`;
      expect(value(after, series) - value(before, series)).toBe(1);
    }
    expect(value(after, "msp_usage_batch_size_count") - value(before, "msp_usage_batch_size_count")).toBeGreaterThanOrEqual(5);
    expect(value(after, "msp_quota_check_duration_seconds_count") - value(before, "msp_quota_check_duration_seconds_count")).toBe(1);
  });

  test("labels requests by route pattern, method and status, never by raw URL", async () => {
    const { key } = await orgWithKey();
    await api(app.url, key).quota("?metric=api_call&email=ann@example.com");
    await fetch(`${app.url}/api/v1/keys/key_doesnotexist123?token=abc`, { method: "DELETE" });
    await fetch(`${app.url}/no/such/page/ann@example.com`);
    const { text } = await scrape();
    expect(text).toContain('msp_http_request_duration_seconds_count{route="/api/v1/quota",method="GET",status="200"}');
    expect(text).toMatch(/msp_http_request_duration_seconds_count\{route="\/api\/v1\/keys\/:id",method="DELETE",status="\d+"\}/);
    expect(text).toMatch(/msp_http_request_duration_seconds_count\{route="unmatched",method="GET",status="404"\}/);
    expect(text).not.toContain("key_doesnotexist123");
    expect(text).not.toContain("ann@example.com");
    expect(text).not.toContain("email=");
  });

  test("reports the job queue by task from graphile-worker's tables", async () => {
    await sql`select graphile_worker.add_job('report_usage', '{}'::json, run_at := now() - interval '30 seconds')`;
    await sql`select graphile_worker.add_job('stigg_sync', '{}'::json, max_attempts := 1)`;
    await sql`update graphile_worker._private_jobs set attempts = 1, last_error = 'boom'
               where task_id = (select id from graphile_worker._private_tasks where identifier = 'stigg_sync')`;
    const { text } = await scrape();
    expect(value(text, 'msp_jobs_queue_depth{task="report_usage"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'msp_jobs_lag_seconds{task="report_usage"}')).toBeGreaterThanOrEqual(29);
    expect(value(text, 'msp_jobs_failed{task="stigg_sync"}')).toBeGreaterThanOrEqual(1);
    await sql`delete from graphile_worker._private_jobs`;
  });

  test("writes one JSON access-log line per page or API request, none for hot routes unless sampled", async () => {
    const { key } = await orgWithKey();
    const marker = rid("page");
    await fetch(`${app.url}/api/v1/plans`, { headers: { "x-request-id": marker } });
    await api(app.url, key).quota();
    await Bun.sleep(100);
    const lines = app.logs.filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.request_id === marker)).toMatchObject({ method: "GET", route: "/api/v1/plans", status: 200, level: "info" });
    expect(lines.some((l) => l.route === "/api/v1/quota")).toBe(false);
  });
});

describe("METRICS=off and ACCESS_LOG_SAMPLE", () => {
  test("with METRICS=off /metrics is 404; with ACCESS_LOG_SAMPLE=1 hot requests are logged", async () => {
    const off = await startApp({ METRICS: "off", ACCESS_LOG_SAMPLE: "1" });
    try {
      expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
      const { key } = await orgWithKey();
      expect((await api(off.url, key).quota()).status).toBe(200);
      await Bun.sleep(100);
      expect(off.logs.some((l) => l.includes('"msg":"request"') && l.includes('"route":"/api/v1/quota"'))).toBe(true);
    } finally {
      await off.stop();
    }
  });
});
