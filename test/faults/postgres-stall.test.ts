// Postgres stalled (every process of its cluster SIGSTOPped: connections stay open, nothing
// answers) under concurrent quota checks and usage records: every request answers within 1.5 s,
// 503 SERVICE_UNAVAILABLE once Postgres is paused (the hot path's deadline, then the breaker),
// never a 500. Records sent just before or during the pause reach Postgres's sockets and commit
// when it resumes, after their 503: the client's retry with the same request_id replays them, and
// after the retries the counters equal the ledger, each request_id counted once. Uses its own
// embedded Postgres, never the shared one.
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { startApp, type TestApp } from "../app";
import { type OwnPostgres, percentile, seedOrgWithKey, startOwnPostgres } from "./own-services";

const ORG = "org_pg_stall";
let pg: OwnPostgres;
let app: TestApp;

beforeAll(async () => {
  pg = await startOwnPostgres("pg-stall");
  app = await startApp({ DATABASE_URL: pg.url });
});
afterAll(async () => {
  pg?.resume();
  await app?.stop();
  await pg?.remove();
});

type Answer = { kind: "quota" | "usage"; id: string; status: number; code?: string; startedAt: number; endedAt: number; replayed: boolean };

async function call(key: string, kind: Answer["kind"], id: string): Promise<Answer> {
  const startedAt = performance.now();
  const res =
    kind === "quota"
      ? await fetch(`${app.url}/api/v1/quota`, { headers: { authorization: `Bearer ${key}` } })
      : await fetch(`${app.url}/api/v1/usage`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ request_id: id }),
        });
  const body = (await res.json()) as { error?: { code: string } };
  return {
    kind,
    id,
    status: res.status,
    code: body.error?.code,
    startedAt,
    endedAt: performance.now(),
    replayed: res.headers.get("idempotent-replayed") === "true",
  };
}

test("a stalled Postgres: 503 within 1.5 s, no 500; after it resumes, every retried request_id is counted once", async () => {
  // Room for every retry: the breaker refuses at once, so the clients' records refused during the
  // pause grow with the machine's speed (about 50,000 on a fast one), and each is retried.
  const key = await seedOrgWithKey(pg.url, ORG, 10_000_000);
  expect((await call(key, "usage", "warm")).status).toBe(200);

  const answers: Answer[] = [];
  let seq = 0;
  let running = true;
  const client = async (kind: Answer["kind"]) => {
    while (running) answers.push(await call(key, kind, `load_${seq++}`));
  };
  const clients = [...Array.from({ length: 4 }, () => client("quota")), ...Array.from({ length: 4 }, () => client("usage"))];
  await Bun.sleep(500);
  const logsBefore = app.logs.length;
  pg.pause();
  const pausedAt = performance.now();
  await Bun.sleep(4000);
  pg.resume();
  const resumedAt = performance.now();
  running = false;
  await Promise.all(clients);

  // Every answer that came after the pause began took at most 1.5 s from the later of its start
  // and the pause: nobody waits out the stall.
  const waits = answers.filter((a) => a.endedAt > pausedAt).map((a) => a.endedAt - Math.max(a.startedAt, pausedAt));
  const firstRefusal = Math.min(...answers.filter((a) => a.status === 503).map((a) => a.endedAt));
  console.info(
    `paused 4 s: ${waits.length} answers after the pause, wait p50 ${percentile(waits, 50).toFixed(0)} ms, max ${Math.max(...waits).toFixed(0)} ms; first 503 ${(firstRefusal - pausedAt).toFixed(0)} ms in`,
  );
  expect(Math.max(...waits)).toBeLessThanOrEqual(1500);
  expect(firstRefusal - pausedAt).toBeLessThanOrEqual(1500);
  const duringPause = answers.filter((a) => a.startedAt > pausedAt && a.startedAt < resumedAt - 1500);
  expect(duringPause.length).toBeGreaterThan(0);
  for (const a of duringPause) expect([a.status, a.code]).toEqual([503, "SERVICE_UNAVAILABLE"]);
  expect(answers.every((a) => a.status === 200 || a.status === 503)).toBe(true);

  // The app serves again once Postgres answers (the client retries the same request_id).
  let after = await call(key, "usage", "after");
  for (let i = 0; i < 100 && after.status !== 200; i++) {
    await Bun.sleep(50);
    after = await call(key, "usage", "after");
  }
  expect(after.status).toBe(200);

  // The clients retry every refused record with its request_id, 32 at a time, as a client would
  // (a 503 again is retried again): each is admitted now, or replayed because its first attempt
  // committed after its 503 (it reached Postgres's socket before Postgres stopped reading). How
  // many are replays depends on where the pause caught the batches in flight (usually 2 to 4,
  // possibly none), so it is printed, not asserted; the ledger below proves each counted once.
  const refused = answers.filter((a) => a.kind === "usage" && a.status === 503);
  const retried: Answer[] = [];
  const pending = [...refused];
  const retrier = async () => {
    for (let a = pending.pop(); a; a = pending.pop()) {
      let r = await call(key, "usage", a.id);
      for (let attempt = 1; attempt < 20 && r.status === 503; attempt++) {
        await Bun.sleep(50);
        r = await call(key, "usage", a.id);
      }
      retried.push(r);
    }
  };
  await Promise.all(Array.from({ length: 32 }, retrier));
  expect(retried.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
  const replayedAfter503 = retried.filter((r) => r.replayed).length;
  console.info(
    `${refused.length} records refused; on retry ${replayedAfter503} were replays (committed after their 503), ${refused.length - replayedAfter503} admitted`,
  );

  const ids = new Set(["warm", "after", ...answers.filter((a) => a.kind === "usage").map((a) => a.id)]);
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  const [row] = await sql<{ used: number; rows: number; distinct_ids: number; hourly: number }[]>`
    select (select used from usage_counters where org_id = ${ORG})::int as used,
           (select count(*) from usage_events where org_id = ${ORG})::int as rows,
           (select count(distinct request_id) from usage_events where org_id = ${ORG})::int as distinct_ids,
           (select sum(quantity) from usage_hourly where org_id = ${ORG})::int as hourly`;
  const ledgerIds = (await sql<{ request_id: string }[]>`select request_id from usage_events where org_id = ${ORG}`).map((r) => r.request_id);
  await sql.end();
  expect(row).toEqual({ used: ids.size, rows: ids.size, distinct_ids: ids.size, hourly: ids.size });
  expect(new Set(ledgerIds)).toEqual(ids);

  // The breaker opened because Postgres did not answer in time, once, and closed once it did.
  const lines = app.logs.slice(logsBefore).map((l) => JSON.parse(l) as { level: string; breaker?: string; reason?: string; msg: string });
  const breakerLines = lines.filter((l) => l.breaker === "database");
  expect(breakerLines.map((l) => [l.level, l.msg.split(":")[0], l.reason])).toEqual([
    ["warn", "database breaker open", "DEADLINE_EXCEEDED"],
    ["info", "database breaker closed", undefined],
  ]);
  expect(lines.filter((l) => l.level === "error").map((l) => l.msg)).toEqual([]);
}, 60_000);
