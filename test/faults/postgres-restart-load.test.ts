// Postgres restarted under concurrent quota checks and usage records, then the load goes on for
// 40 s: past the pools' 30 s idle timeout, when connections opened together at recovery close and
// reconnect. The breaker opens once for the restart, closes once, and never opens again while
// Postgres is healthy (issue 21, item 4); from 2 s after the restart every request is served;
// every request_id is counted once after the clients retry their 503s. Uses its own embedded
// Postgres, never the shared one.
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { startApp, type TestApp } from "../app";
import { type OwnPostgres, seedOrgWithKey, startOwnPostgres } from "./own-services";

const ORG = "org_pg_restart_load";
const AFTER_RESTART_MS = 40_000;
let pg: OwnPostgres;
let app: TestApp;

// A Postgres of its own and an app: more than bun's 5 s for a hook on a busy 2-core machine.
beforeAll(async () => {
  pg = await startOwnPostgres("pg-restart-load");
  app = await startApp({ DATABASE_URL: pg.url });
}, 60_000);
afterAll(async () => {
  await app?.stop();
  await pg?.remove();
});

type Answer = { kind: "quota" | "usage"; id: string; status: number; startedAt: number };

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
  await res.arrayBuffer();
  return { kind, id, status: res.status, startedAt };
}

test("after a restart under load the breaker closes once and stays closed; every request_id counted once", async () => {
  const key = await seedOrgWithKey(pg.url, ORG);
  expect((await call(key, "usage", "warm")).status).toBe(200);
  const logsBefore = app.logs.length;

  const answers: Answer[] = [];
  let seq = 0;
  let running = true;
  const client = async (kind: Answer["kind"]) => {
    while (running) {
      answers.push(await call(key, kind, `load_${seq++}`));
      // Paced a little: the box is shared, and the point is time under load, not saturation.
      await Bun.sleep(2);
    }
  };
  const clients = [...Array.from({ length: 4 }, () => client("quota")), ...Array.from({ length: 4 }, () => client("usage"))];
  await Bun.sleep(1000);
  await pg.stop();
  await Bun.sleep(500);
  await pg.start();
  const restartedAt = performance.now();
  await Bun.sleep(AFTER_RESTART_MS);
  running = false;
  await Promise.all(clients);

  const lines = app.logs.slice(logsBefore).map((l) => JSON.parse(l) as { level: string; breaker?: string; reason?: string; msg: string; time: string });
  const breakerLines = lines.filter((l) => l.breaker === "database").map((l) => [l.level, l.msg.split(":")[0]]);
  console.info(`breaker: ${JSON.stringify(breakerLines)}; ${answers.length} answers`);
  expect(breakerLines).toEqual([
    ["warn", "database breaker open"],
    ["info", "database breaker closed"],
  ]);
  // Two seconds after Postgres is back, everything is served: not one 503. (It was not so: in
  // about half the runs a 503 came back every 5 s, long after, with the breaker closed. A pool
  // connection whose socket closed at the restart while a write waited for its flush never sent
  // its startup message again, and each query handed to it ended in CONNECT_TIMEOUT; fixed in
  // patches/postgres@3.4.9.patch, reproduced exactly in db/postgres-write-flush.test.ts.)
  const late = answers.filter((a) => a.startedAt > restartedAt + 2000);
  expect(late.length).toBeGreaterThan(1000);
  expect(late.filter((a) => a.status !== 200)).toEqual([]);
  expect(answers.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);
  expect(lines.some((l) => l.level === "error")).toBe(false);

  const refused = answers.filter((a) => a.kind === "usage" && a.status === 503);
  // Thousands refused during the outage: retried 16 at a time, so a busy machine gets through them.
  for (let i = 0; i < refused.length; i += 16) {
    const retried = await Promise.all(refused.slice(i, i + 16).map((a) => call(key, "usage", a.id)));
    expect(retried.map((r) => r.status)).toEqual(retried.map(() => 200));
  }
  const ids = new Set(["warm", ...answers.filter((a) => a.kind === "usage").map((a) => a.id)]);
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  const [row] = await sql<{ used: number; rows: number; distinct_ids: number }[]>`
    select (select used from usage_counters where org_id = ${ORG})::int as used,
           (select count(*) from usage_events where org_id = ${ORG})::int as rows,
           (select count(distinct request_id) from usage_events where org_id = ${ORG})::int as distinct_ids`;
  await sql.end();
  expect(row).toEqual({ used: ids.size, rows: ids.size, distinct_ids: ids.size });
}, 150_000);
