// Postgres stopped under load: once the app has seen the outage it answers 503
// SERVICE_UNAVAILABLE at once (the database breaker) instead of queueing requests behind a dead
// pool; back up, it serves again within 2 s; and every request_id is counted exactly once after
// the clients retry their 503s. Uses its own embedded Postgres, never the shared one.
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { startApp, type TestApp } from "../app";
import { type OwnPostgres, percentile, seedOrgWithKey, startOwnPostgres } from "./own-services";

const ORG = "org_pg_breaker";
let pg: OwnPostgres;
let app: TestApp;

beforeAll(async () => {
  pg = await startOwnPostgres("pg-breaker");
  app = await startApp({ DATABASE_URL: pg.url });
});
afterAll(async () => {
  await app?.stop();
  await pg?.remove();
});

type Answer = { id: string; status: number; ms: number; startedAt: number; replayed: boolean; used?: number; code?: string; retryAfter: string | null };

async function record(key: string, id: string): Promise<Answer> {
  const startedAt = performance.now();
  const res = await fetch(`${app.url}/api/v1/usage`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ request_id: id }),
  });
  const body = (await res.json()) as { data?: { used: number }; error?: { code: string } };
  return {
    id,
    status: res.status,
    ms: performance.now() - startedAt,
    startedAt,
    replayed: res.headers.get("idempotent-replayed") === "true",
    used: body.data?.used,
    code: body.error?.code,
    retryAfter: res.headers.get("retry-after"),
  };
}

test("Postgres down: 503 at once (p99 ≤ 50 ms), back within 2 s, every request_id counted exactly once", async () => {
  const key = await seedOrgWithKey(pg.url, ORG);
  expect((await record(key, "warm")).status).toBe(200);

  // Four clients record distinct request_ids without pause, before, during and after the outage.
  const answers: Answer[] = [];
  let firstRefusal = Number.POSITIVE_INFINITY;
  let seq = 0;
  let downCount = 0;
  let running = true;
  // Stop once 200 answers started after the app had answered its first 503.
  const client = async () => {
    while (running && downCount < 200) {
      const a = await record(key, `load_${seq++}`);
      answers.push(a);
      if (a.startedAt > firstRefusal) downCount++;
      if (a.status === 503) firstRefusal = Math.min(firstRefusal, performance.now());
    }
  };
  const clients = Array.from({ length: 4 }, client);
  await Bun.sleep(300);
  await pg.stop();
  const deadline = setTimeout(() => {
    running = false;
  }, 15_000);
  await Promise.all(clients);
  clearTimeout(deadline);
  const whileDown = () => answers.filter((a) => a.startedAt > firstRefusal);

  const down = whileDown();
  const p99 = percentile(
    down.map((a) => a.ms),
    99,
  );
  console.info(
    `while down: ${down.length} answers, p50 ${percentile(
      down.map((a) => a.ms),
      50,
    ).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
  );
  expect(down.length).toBeGreaterThanOrEqual(200);
  for (const a of down) expect([a.status, a.code, a.retryAfter]).toEqual([503, "SERVICE_UNAVAILABLE", "1"]);
  expect(p99).toBeLessThanOrEqual(50);
  // Only successes and retryable refusals, never a 500.
  expect(answers.every((a) => a.status === 200 || a.status === 503)).toBe(true);

  await pg.start();
  const back = performance.now();
  let after = await record(key, "after");
  while (after.status !== 200 && performance.now() - back < 10_000) {
    await Bun.sleep(20);
    after = await record(key, "after"); // the client retries the same request_id
  }
  const recoveryMs = performance.now() - back;
  console.info(`served again ${recoveryMs.toFixed(0)} ms after Postgres was back`);
  expect(after.status).toBe(200);
  expect(recoveryMs).toBeLessThanOrEqual(2000);

  // The clients retry every 503 with the same request_id: each is admitted now, or replayed if its
  // first attempt had committed after all. Successes retried are replays of the same answer.
  const refused = answers.filter((a) => a.status === 503);
  const retried = await inParallel(refused, (a) => record(key, a.id));
  expect(retried.every((r) => r.status === 200)).toBe(true);
  const admitted = answers.filter((x) => x.status === 200);
  const replays = await inParallel(admitted, (a) => record(key, a.id));
  expect(replays.map((r) => [r.status, r.replayed, r.used])).toEqual(admitted.map((a) => [200, true, a.used]));

  const ids = new Set(["warm", "after", ...answers.map((a) => a.id)]);
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  const [row] = await sql<{ used: number; rows: number; distinct_ids: number; hourly: number }[]>`
    select (select used from usage_counters where org_id = ${ORG})::int as used,
           (select count(*) from usage_events where org_id = ${ORG})::int as rows,
           (select count(distinct request_id) from usage_events where org_id = ${ORG})::int as distinct_ids,
           (select sum(quantity) from usage_hourly where org_id = ${ORG})::int as hourly`;
  await sql.end();
  expect(row).toEqual({ used: ids.size, rows: ids.size, distinct_ids: ids.size, hourly: ids.size });
  expect(refused.length).toBeGreaterThan(0);
}, 60_000);

test("an outage met by a key lookup is a 503, and the breaker shows in the logs and /api/diag/smoke", async () => {
  const key = await seedOrgWithKey(pg.url, "org_pg_breaker_2"); // never looked up: not cached
  const logsBefore = app.logs.length;
  await pg.stop();
  const res = await fetch(`${app.url}/api/v1/quota`, { headers: { authorization: `Bearer ${key}` } });
  expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([503, "SERVICE_UNAVAILABLE"]);

  const smoke = await fetch(`${app.url}/api/diag/smoke`);
  expect(smoke.status).toBe(503);
  const down = (await smoke.json()) as { error: { details: { checks: { name: string; status: string; breaker?: { state: string } }[] } } };
  const database = down.error.details.checks.find((c) => c.name === "database");
  expect([database?.status, database?.breaker?.state]).toEqual(["fail", "open"]);

  await pg.start();
  let up: Response | null = null;
  for (let i = 0; i < 100 && up?.status !== 200; i++) {
    if (i > 0) await Bun.sleep(50);
    up = await fetch(`${app.url}/api/diag/smoke`);
  }
  expect(up?.status).toBe(200);
  const checks = ((await up!.json()) as { data: { checks: { name: string; breaker?: { state: string } }[] } }).data.checks;
  expect(checks.find((c) => c.name === "database")?.breaker?.state).toBe("closed");
  expect((await fetch(`${app.url}/api/v1/quota`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);

  const lines = app.logs.slice(logsBefore).map((l) => JSON.parse(l) as { level: string; breaker?: string; reason?: string; msg: string });
  const breakerLines = lines.filter((l) => l.breaker === "database");
  expect(breakerLines.map((l) => [l.level, l.msg.split(":")[0]])).toEqual([
    ["warn", "database breaker open"],
    ["info", "database breaker closed"],
  ]);
  expect(breakerLines[0].reason).toBe("ECONNREFUSED");
  expect(lines.some((l) => l.level === "error")).toBe(false);
});

/** Runs `fn` over `items`, eight at a time, answers in the items' order. */
async function inParallel<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}
