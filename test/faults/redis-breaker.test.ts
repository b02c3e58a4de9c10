// Redis paused (SIGSTOP) under the app: after a few 50 ms timeouts the cache breaker opens and
// quota checks stop waiting on Redis; resumed, a probe closes it and the cache is used again.
// Uses its own redis-server, never the shared one.
import { afterAll, beforeAll, expect, test } from "bun:test";
import Redis from "ioredis";
import { startApp, type TestApp } from "../app";
import { api, orgWithKey } from "../factories";
import { type OwnRedis, percentile, startOwnRedis } from "./own-services";

const PREFIX = "fault:";
let redis: OwnRedis;
let client: Redis;
let app: TestApp;

beforeAll(async () => {
  redis = await startOwnRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  app = await startApp({ REDIS_URL: redis.url, REDIS_PREFIX: PREFIX, REDIS_BREAKER_PROBE_MS: "200" });
});
afterAll(async () => {
  client?.disconnect();
  await app?.stop();
  await redis?.stop();
});

async function timedQuota(c: ReturnType<typeof api>): Promise<number> {
  const t0 = performance.now();
  const res = await c.quota();
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  return performance.now() - t0;
}

type Smoke = { ok: boolean; checks: { name: string; breaker?: { state: string } }[] };
async function smokeCheck(): Promise<Smoke> {
  return ((await (await fetch(`${app.url}/api/diag/smoke`)).json()) as { data: Smoke }).data;
}
async function redisBreakerState(): Promise<string | undefined> {
  return (await smokeCheck()).checks.find((ch) => ch.name === "redis")?.breaker?.state;
}

test("a paused Redis costs nothing after the first few timeouts; resumed, the cache is used again", async () => {
  const { orgId, key } = await orgWithKey({ included: 100 });
  const c = api(app.url, key);
  const cached = () => client.exists(`${PREFIX}quota:${orgId}:api_call`);
  // Warm up until the cache answers and the breaker is closed: on a slow machine a fresh
  // redis-server can miss the 50 ms timeout a few times and flap the breaker before the pause.
  // The quota's cached copy lives 1 s: judged right after a check, never re-read later (on a
  // busy machine it may have expired by then).
  const warm = performance.now();
  let warmed = { cached: 0, breaker: undefined as string | undefined };
  while (!(warmed.cached === 1 && warmed.breaker === "closed") && performance.now() - warm < 10_000) {
    await timedQuota(c);
    warmed = { cached: await cached(), breaker: await redisBreakerState() };
    if (warmed.cached !== 1) await Bun.sleep(20);
  }
  expect(warmed).toEqual({ cached: 1, breaker: "closed" });

  const logsBefore = app.logs.length;
  redis.pause();
  const latencies: number[] = [];
  for (let i = 0; i < 200; i++) latencies.push(await timedQuota(c));
  const p50 = percentile(latencies, 50);
  console.info(
    `Redis paused: ${latencies.filter((ms) => ms >= 45).length} waited on a timeout; quota p50 ${p50.toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms over ${latencies.length}`,
  );
  expect(p50).toBeLessThanOrEqual(10);
  // Only the first few requests may have waited on Redis's 50 ms timeout.
  expect(latencies.filter((ms) => ms >= 45).length).toBeLessThanOrEqual(10);
  const smoke = await smokeCheck();
  expect(smoke.ok).toBe(true); // Redis is optional: the app serves without it
  expect(smoke.checks.find((ch) => ch.name === "redis")?.breaker?.state).toBe("open");

  redis.resume();
  await client.flushall();
  const resumed = performance.now();
  while ((await cached()) === 0 && performance.now() - resumed < 5000) {
    await timedQuota(c);
    await Bun.sleep(20);
  }
  expect(await cached()).toBe(1);

  const breakerLines = app.logs
    .slice(logsBefore)
    .map((l) => JSON.parse(l) as { level: string; breaker?: string; msg: string })
    .filter((l) => l.breaker === "redis");
  console.info(`breaker lines: ${JSON.stringify(breakerLines.map((l) => l.msg.split(":")[0]))}`);
  expect(breakerLines.map((l) => [l.level, l.msg.split(":")[0]])).toEqual([
    ["warn", "redis breaker open"],
    ["info", "redis breaker closed"],
  ]);
  // And the answers stayed right: a record is seen by the next quota check.
  expect((await c.record({ request_id: `after_${orgId}`, quantity: 7 })).status).toBe(200);
  expect(((await (await c.quota()).json()) as { data: { used: number } }).data.used).toBe(7);
});
