// `ops backup` on the embedded Postgres (18) of a machine with no pg_dump that new (Debian 12's
// client is 15; the embedded package ships none): an online base backup of the cluster, taken
// under usage load, restored into a new folder that Postgres opens as a consistent copy.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../../../db/embedded";
import { startApp, type TestApp } from "../../../test/app";
import { api } from "../../../test/factories";
import { freePort, type OwnPostgres, seedOrgWithKey, startOwnPostgres } from "../../../test/faults/own-services";

const dir = mkdtempSync(join(tmpdir(), "cluster-backup-"));
// The restored server runs as the OS user postgres (when the test runs as root): it must reach the folder.
chmodSync(dir, 0o755);
let own: OwnPostgres | undefined;
let app: TestApp | undefined;
afterAll(async () => {
  await app?.stop();
  await own?.remove();
  rmSync(dir, { recursive: true, force: true });
});

async function ops(databaseUrl: string, ...args: string[]) {
  const proc = spawn(["bun", join(import.meta.dir, "../../../cli/ops.ts"), ...args, "--json"], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "silent" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (!out.trim()) throw new Error(`ops ${args[0]} printed nothing (exit ${code}):\n${err}`);
  return { code, body: JSON.parse(out) };
}

test("the embedded Postgres is backed up under load without pg_dump and restored into a new folder: counters equal the ledger, the snapshot holds what was answered before", async () => {
  own = await startOwnPostgres("clusterbk");
  const key = await seedOrgWithKey(own.url, "org_cluster", 1_000_000);
  app = await startApp({ DATABASE_URL: own.url });

  const answered: { id: string; sentAt: number; answeredAt: number; status: number }[] = [];
  let stop = false;
  let n = 0;
  const client = async () => {
    while (!stop) {
      const id = `cluster_${n++}`;
      const sentAt = performance.now();
      const res = await api(app!.url, key).record({ request_id: id, quantity: 1 });
      await res.arrayBuffer();
      answered.push({ id, sentAt, answeredAt: performance.now(), status: res.status });
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, client));
  while (answered.length < 300) await Bun.sleep(10);
  const backupStarted = performance.now();
  const file = join(dir, "cluster.backup");
  const backup = await ops(own.url, "backup", file);
  const backupEnded = performance.now();
  const during = answered.length;
  while (answered.length < during + 100) await Bun.sleep(10);
  stop = true;
  await load;

  expect(backup.code).toBe(0);
  expect(backup.body).toMatchObject({ kind: "cluster", serverVersion: 18, database: "clusterbk" });
  expect(statSync(file).mode & 0o077).toBe(0);
  expect(answered.filter((a) => a.status !== 200)).toEqual([]);

  const restoredDir = join(dir, "restored");
  const restore = await ops(own.url, "restore", file, "--dir", restoredDir);
  if (restore.code !== 0) throw new Error(JSON.stringify(restore.body));
  expect(restore.body).toMatchObject({ kind: "cluster", dir: restoredDir });
  expect(restore.body.databases).toContain("clusterbk");
  // A second restore into the same folder is refused and leaves it as it was.
  expect(await ops(own.url, "restore", file, "--dir", restoredDir)).toMatchObject({ code: 1, body: { error: { code: "VALIDATION_FAILED" } } });

  const restored = await startEmbeddedPostgres({ dir: restoredDir, port: freePort(), database: "clusterbk" });
  try {
    const sql = postgres(restored.url, { max: 1, onnotice: () => {} });
    const ids = new Set((await sql<{ id: string }[]>`select request_id as id from usage_events where org_id = 'org_cluster'`).map((r) => r.id));
    const [{ used }] = await sql<{ used: number }[]>`select coalesce(sum(used), 0)::int as used from usage_counters where org_id = 'org_cluster'`;
    await sql.end();
    expect(used).toBe(ids.size);
    expect(answered.filter((a) => a.answeredAt < backupStarted && !ids.has(a.id)).length).toBe(0);
    expect(answered.filter((a) => a.sentAt > backupEnded && ids.has(a.id)).length).toBe(0);
    expect(ids.size).toBeLessThan(answered.length);
  } finally {
    await restored.stop();
  }
}, 60_000);
