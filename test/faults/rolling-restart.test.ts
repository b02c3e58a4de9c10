// A deploy without downtime (docs/operations.md): the new release's migrations run first, against
// the database the old release is serving from, then new app processes join the old ones on the
// same port (SO_REUSEPORT) and the old ones stop gracefully, one by one — all under usage load,
// with no 5xx, and every request counted exactly once.
import { afterEach, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { sql } from "../../app/server/platform/db.server";
import { startApp, type TestApp, whenTrue } from "../app";
import { countsOf, orgWithKey } from "../factories";

const root = join(import.meta.dir, "..", "..");
let apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.map((a) => (a.proc.exitCode === null && a.proc.signalCode === null ? a.stop("SIGKILL") : a.proc.exited)));
  apps = [];
});

/**
 * The committed migrations plus one a new release might bring (an additive column, which takes
 * a brief exclusive lock on the hot counter table), in a folder of their own.
 */
function nextReleaseMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), "next-release-"));
  cpSync(join(root, "db/migrations"), dir, { recursive: true });
  const journalFile = join(dir, "meta/_journal.json");
  const journal = JSON.parse(readFileSync(journalFile, "utf8")) as { entries: { idx: number; when: number; tag: string }[] };
  const last = journal.entries[journal.entries.length - 1];
  const tag = `${String(last.idx + 1).padStart(4, "0")}_next_release`;
  journal.entries.push({ ...last, idx: last.idx + 1, when: last.when + 1, tag });
  writeFileSync(journalFile, JSON.stringify(journal));
  writeFileSync(join(dir, `${tag}.sql`), 'ALTER TABLE "usage_counters" ADD COLUMN "next_release_note" text;');
  return dir;
}

/**
 * `clients` loops recording fresh request_ids until `total` are answered 200. A request that gets
 * no answer (its connection closed by a stopping process) is retried with the same request_id, as
 * the API contract tells clients to; every status is tallied, and nothing but 200 is expected.
 */
function usageLoad(url: string, key: string, clients: number, total: number) {
  const statuses = new Map<number, number>();
  const acknowledged = new Set<string>();
  let next = 0;
  let retries = 0;
  const client = async () => {
    while (next < total) {
      const id = `rolling_${next++}`;
      for (let attempt = 0; !acknowledged.has(id); attempt++) {
        if (attempt > 50) throw new Error(`${id} never answered`);
        try {
          const res = await fetch(`${url}/api/v1/usage`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({ request_id: id }),
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 200) acknowledged.add(id);
          else return; // a 5xx (or anything else) is the failure this test looks for: tallied, not retried
        } catch {
          retries++;
          await Bun.sleep(10);
        }
      }
    }
  };
  return { statuses, done: Promise.all(Array.from({ length: clients }, client)), progress: () => acknowledged.size, retries: () => retries };
}

// Enough requests that the new release still has a good share after both old processes stop
// (starting two app processes takes a few seconds of the load).
const TOTAL = 8000;

test("a rolling restart under load — migrations first, new processes beside the old on one port, old ones stopped one by one — answers no 5xx and loses nothing", async () => {
  const { orgId, key } = await orgWithKey({ included: 1_000_000 });
  const old1 = await startApp();
  const port = new URL(old1.url).port;
  const old2 = await startApp({ PORT: port });
  apps = [old1, old2];

  const load = usageLoad(old1.url, key, 16, TOTAL);
  await whenTrue(() => load.progress() >= 400);

  // 1. The new release's migrations, while the old release serves: the deploy step
  // (`bun run db:migrate`: ours, graphile-worker's, the SQL functions), then its new migration.
  const migrateStep = spawn(["bun", "db/migrate.ts"], { cwd: root, env: process.env as Record<string, string>, stdout: "pipe", stderr: "pipe" });
  expect(await migrateStep.exited).toBe(0);
  const client = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  const folder = nextReleaseMigrations();
  try {
    await migrate(drizzle(client), { migrationsFolder: folder });
  } finally {
    await client.end();
    rmSync(folder, { recursive: true, force: true });
  }
  const [column] = await sql`select 1 from information_schema.columns where table_name = 'usage_counters' and column_name = 'next_release_note'`;
  expect(column).toBeDefined();
  const afterMigrations = load.progress();

  // 2. The new release's processes join the old ones on the port.
  const new1 = await startApp({ PORT: port });
  const new2 = await startApp({ PORT: port });
  apps.push(new1, new2);

  // 3. The old processes stop one at a time, each finishing what it accepted.
  for (const old of [old1, old2]) {
    await whenTrue(() => load.progress() >= afterMigrations + 300);
    old.proc.kill("SIGTERM");
    expect(await old.proc.exited).toBe(0);
    expect(old.logs.some((l) => l.includes('"msg":"app stopped"'))).toBe(true);
  }
  const afterOldStopped = load.progress();
  await load.done;

  expect(Object.fromEntries(load.statuses)).toEqual({ 200: TOTAL });
  // The new release served a good share of the load on its own.
  expect(TOTAL - afterOldStopped).toBeGreaterThan(500);
  const counts = await countsOf(orgId);
  expect({ used: Number(counts.used), ledger: Number(counts.ledger), rows: Number(counts.rows) }).toEqual({ used: TOTAL, ledger: TOTAL, rows: TOTAL });
}, 90_000);
