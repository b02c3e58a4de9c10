// A key limited to 50 requests a second, hit by 400 concurrent usage records spread over two app
// processes (each on its own port, as on two machines) sharing one Redis: at most 50 are admitted
// in any one-second window, every refusal is 429 RATE_LIMITED with Retry-After, and the counters
// and the ledger hold exactly the admitted ones. Prints the measured accuracy. Also: the budget
// is one across processes; with Redis configured but absent each process holds its share; a
// Redis that stops answering gets the unsure requests refused, then each process its share.
// Uses its own redis-server, never the shared one.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { updateApiKey } from "../../app/server/auth/key-settings.server";
import { createApiKey } from "../../app/server/auth/keys.server";
import { startApp, type TestApp } from "../app";
import { countsOf, orgWithKey, rid } from "../factories";
import { freePort, type OwnRedis, startOwnRedis } from "./own-services";

const LIMIT = 50;
const REQUESTS = 400;
let redis: OwnRedis;
let apps: TestApp[] = [];

beforeAll(async () => {
  redis = await startOwnRedis();
  // APP_PROCESSES=2: were Redis to fail, each process would hold 25, so the sum stays within 50.
  const env = { REDIS_URL: redis.url, REDIS_PREFIX: "rl:", APP_PROCESSES: "2" };
  apps = await Promise.all([startApp({ ...env, PORT: String(freePort()) }), startApp({ ...env, PORT: String(freePort()) })]);
}, 60_000);
afterAll(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  await redis?.stop();
});

type Outcome = { status: number; sentAt: number; answeredAt: number; retryAfter: string | null; code?: string };

async function record(app: TestApp, key: string): Promise<Outcome> {
  const sentAt = Date.now();
  const res = await fetch(`${app.url}/api/v1/usage`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ request_id: rid("rl") }),
  });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, sentAt, answeredAt: Date.now(), retryAfter: res.headers.get("retry-after"), code: body.error?.code };
}

test("50/s across two app processes with Redis: at most 50 admitted per second window, nothing refused is counted", async () => {
  const { orgId } = await orgWithKey({ included: 100_000 });
  const { key } = await createApiKey({ orgId, name: "limited", rateLimits: [{ limit: LIMIT, windowSeconds: 1 }] });
  // Warm both processes' key caches and connections (these two count in their window, and are
  // counted as usage), then start the burst just after a second begins.
  const warm = await Promise.all(apps.map((a) => record(a, key)));
  expect(warm.map((w) => w.status)).toEqual([200, 200]);
  await Bun.sleep(1000 - (Date.now() % 1000) + 5);

  const outcomes = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => record(apps[i % 2], key)));
  const admitted = outcomes.filter((o) => o.status === 200);
  const refused = outcomes.filter((o) => o.status !== 200);
  for (const r of refused) {
    expect(r.status).toBe(429);
    expect(r.code).toBe("RATE_LIMITED");
    expect(Number(r.retryAfter)).toBe(1);
  }

  // Each admission happened in the window(s) between its send and its answer. Per window: the
  // admissions known to fall in it (sent and answered within it) must be at most the limit, and
  // all admissions over the burst's span at most the limit times the windows it touched.
  const second = (ms: number) => Math.floor(ms / 1000);
  const perWindow = new Map<number, number>();
  let unplaced = 0;
  for (const a of admitted) {
    if (second(a.sentAt) === second(a.answeredAt)) perWindow.set(second(a.sentAt), (perWindow.get(second(a.sentAt)) ?? 0) + 1);
    else unplaced++;
  }
  const first = second(Math.min(...outcomes.map((o) => o.sentAt)));
  const last = second(Math.max(...outcomes.map((o) => o.answeredAt)));
  const windows = last - first + 1;
  const bound = LIMIT * windows;
  console.log(
    `rate limit ${LIMIT}/s over 2 processes + Redis: ${REQUESTS} requests in ${windows} window(s) -> ${admitted.length} admitted (bound ${bound}), ${refused.length} refused; ` +
      `per window ${JSON.stringify(Object.fromEntries(perWindow))}, ${unplaced} straddling a window edge; accuracy ${((admitted.length / bound) * 100).toFixed(1)}% of the allowed`,
  );
  if (process.env.DEBUG_APP_LOGS) for (const a of apps) console.log(a.logs.filter((l) => /redis|breaker|warn|"level":[45]/i.test(l)).join("\n"));
  for (const n of perWindow.values()) expect(n).toBeLessThanOrEqual(LIMIT);
  expect(admitted.length).toBeLessThanOrEqual(bound);
  // Redis holds the one budget: the window is filled (less only by a Redis call that timed out on
  // a loaded box: refused, though Redis may have counted it).
  expect(admitted.length).toBeGreaterThanOrEqual(LIMIT - 5);
  const counts = await countsOf(orgId);
  expect(Number(counts.used)).toBe(admitted.length + 2);
  expect(Number(counts.ledger)).toBe(admitted.length + 2);
  expect(Number(counts.rows)).toBe(admitted.length + 2);
}, 60_000);

test("the budget is one across the processes, not split: one process alone may take all 50, then the other gets none", async () => {
  const { orgId } = await orgWithKey({ included: 100_000 });
  const { key } = await createApiKey({ orgId, name: "shared", rateLimits: [{ limit: LIMIT, windowSeconds: 2 }] });
  await Promise.all(apps.map((a) => record(a, key))); // warm both key caches (in the window before)
  await Bun.sleep(2000 - (Date.now() % 2000) + 5);
  const alone = await Promise.all(Array.from({ length: 100 }, () => record(apps[0], key)));
  const then = await Promise.all(Array.from({ length: 100 }, () => record(apps[1], key)));
  const all = [...alone, ...then];
  const sameWindow = Math.floor(Math.min(...all.map((o) => o.sentAt)) / 2000) === Math.floor(Math.max(...all.map((o) => o.answeredAt)) / 2000);
  const byFirst = alone.filter((o) => o.status === 200).length;
  const bySecond = then.filter((o) => o.status === 200).length;
  console.log(`shared budget ${LIMIT}/2s: first process admitted ${byFirst}, then the second ${bySecond} (one window: ${sameWindow})`);
  if (sameWindow) {
    // Each process's own share would be 25 (APP_PROCESSES=2): more on one proves the count is
    // shared (50, less only by a Redis call that timed out), and the other gets what is left.
    expect(byFirst).toBeGreaterThan(LIMIT / 2);
    expect(byFirst + bySecond).toBeLessThanOrEqual(LIMIT);
  } else expect(byFirst + bySecond).toBeLessThanOrEqual(2 * LIMIT);
  expect(Number((await countsOf(orgId)).used)).toBe(byFirst + bySecond + 2);
}, 60_000);

test("with Redis configured but not there, the process holds its share (limit / APP_PROCESSES) and no request fails", async () => {
  const lonely = await startApp({ REDIS_URL: `redis://127.0.0.1:${freePort()}`, APP_PROCESSES: "2", PORT: String(freePort()) });
  try {
    const { orgId } = await orgWithKey({ included: 100_000 });
    const { key } = await createApiKey({ orgId, name: "no redis", rateLimits: [{ limit: 8, windowSeconds: 3600 }] });
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => record(lonely, key)));
    const statuses = outcomes.map((o) => o.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(4); // floor(8 / 2)
    expect(statuses.filter((s) => s === 429)).toHaveLength(16);
    expect(outcomes.filter((o) => o.status === 429).every((o) => o.code === "RATE_LIMITED")).toBe(true);
    expect(Number((await countsOf(orgId)).used)).toBe(4);
  } finally {
    await lonely.stop();
  }
}, 60_000);

test("a Redis that stops answering: the unsure requests are refused (Retry-After 1), never admitted uncounted; then the breaker hands over to the process's share", async () => {
  const own = await startOwnRedis();
  const app = await startApp({ REDIS_URL: own.url, APP_PROCESSES: "2", REDIS_BREAKER_PROBE_MS: "60000", PORT: String(freePort()) });
  try {
    const { orgId } = await orgWithKey({ included: 100_000 });
    const { key } = await createApiKey({ orgId, name: "paused redis", rateLimits: [{ limit: 8, windowSeconds: 3600 }] });
    expect((await record(app, key)).status).toBe(200); // counted in Redis, before the pause
    own.pause();
    const unsure = [];
    for (let i = 0; i < 3; i++) unsure.push(await record(app, key)); // REDIS_BREAKER_FAILURES (3) timeouts open the breaker
    expect(unsure.map((o) => [o.status, o.code, o.retryAfter])).toEqual(Array(3).fill([429, "RATE_LIMITED", "1"]));
    const after = await Promise.all(Array.from({ length: 10 }, () => record(app, key)));
    expect(after.filter((o) => o.status === 200)).toHaveLength(4); // floor(8 / 2), on the process's own counters
    expect(Number((await countsOf(orgId)).used)).toBe(5);
  } finally {
    await app.stop();
    await own.stop();
  }
}, 60_000);

test("a process's unused lease is given back: a key's hourly budget is spent whole across processes, never more", async () => {
  const { orgId } = await orgWithKey({ included: 100_000 });
  const { key } = await createApiKey({
    orgId,
    name: "hourly",
    rateLimits: [
      { limit: 1000, windowSeconds: 1 },
      { limit: 10, windowSeconds: 3600 },
    ],
  });
  // The first process takes a lease of one, then (used up) asks for two and uses one: it holds one
  // admission counted in Redis that nobody uses.
  const first = [await record(apps[0], key), await record(apps[0], key)];
  expect(first.map((o) => o.status)).toEqual([200, 200]);
  const untilRefused = async () => {
    let admitted = 0;
    for (let i = 0; i < 20; i++) {
      const o = await record(apps[1], key);
      if (o.status !== 200) {
        expect([o.status, o.code]).toEqual([429, "RATE_LIMITED"]);
        expect(Number(o.retryAfter)).toBeGreaterThan(1); // the hour's end, not the held one's
        return admitted;
      }
      admitted++;
    }
    return admitted;
  };
  const second = await untilRefused();
  expect(second).toBe(7); // 10, less the first process's three
  // Its lease ends within a second, and what it did not use goes back to the hour.
  await Bun.sleep(2_500);
  const later = await untilRefused();
  expect(2 + second + later).toBe(10);
  expect(Number((await countsOf(orgId)).used)).toBe(10);
}, 60_000);

test("limits edited to shorter windows and back keep the longer window's count: a day's limit is not refilled by an edit", async () => {
  const app = await startApp({ REDIS_URL: redis.url, REDIS_PREFIX: "rl:", APP_PROCESSES: "2", KEY_CACHE_TTL_MS: "0", PORT: String(freePort()) });
  try {
    const { orgId } = await orgWithKey({ included: 100_000 });
    const daily = [{ limit: 3, windowSeconds: 86_400 }];
    const { key, id } = await createApiKey({ orgId, name: "edited", rateLimits: daily });
    const statuses = async (n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await record(app, key)).status);
      return out;
    };
    expect(await statuses(4)).toEqual([200, 200, 200, 429]);
    // This process's edits do not reach the app's Redis (its own server): its copy of the key lasts 3 s.
    const edit = async (rateLimits: { limit: number; windowSeconds: number }[]) => {
      await updateApiKey({ orgId, keyId: id, changes: { rateLimits } });
      await Bun.sleep(3_200);
    };
    await edit([{ limit: 100, windowSeconds: 1 }]);
    expect(await statuses(1)).toEqual([200]);
    await edit(daily);
    expect(await statuses(2)).toEqual([429, 429]);
    expect(Number((await countsOf(orgId)).used)).toBe(4);
  } finally {
    await app.stop();
  }
}, 60_000);

test("with several windows full, Retry-After is the one that ends last: retrying sooner would be refused again", async () => {
  const { orgId } = await orgWithKey({ included: 100_000 });
  const { key } = await createApiKey({
    orgId,
    name: "two windows",
    rateLimits: [
      { limit: 1, windowSeconds: 1 },
      { limit: 2, windowSeconds: 86_400 },
    ],
  });
  expect((await record(apps[0], key)).status).toBe(200);
  await Bun.sleep(1000 - (Date.now() % 1000) + 5); // the next second: the 1 s window has room again
  expect((await record(apps[0], key)).status).toBe(200);
  const refused = await record(apps[0], key); // both windows full now
  expect(refused.status).toBe(429);
  expect(Number(refused.retryAfter)).toBeGreaterThan(1);
}, 60_000);
