// The backup of a Postgres whose data folder is on this machine (the embedded one of `npm start`)
// when no pg_dump new enough is installed: the embedded Postgres ships none, so a fresh machine
// could not back it up otherwise. It is Postgres's own online base backup, taken with SQL and
// `tar`: pg_backup_start, a copy of the data folder, pg_backup_stop, then the WAL written
// meanwhile (kept by a temporary replication slot) and the backup label. Restored into a new
// folder, Postgres replays that WAL at its first start and opens a consistent copy of the cluster.

import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { spawn } from "bun";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../../../db/embedded";
import { AppError } from "../platform/errors.server";

/** What a base backup leaves out (Postgres's docs, "Making a Base Backup Using the Low Level API"). */
const EXCLUDED = [
  "./postmaster.pid",
  "./postmaster.opts",
  "./backup_label",
  "./tablespace_map",
  "./pg_wal/*",
  "./pg_replslot/*",
  "./pg_dynshmem/*",
  "./pg_notify/*",
  "./pg_serial/*",
  "./pg_snapshots/*",
  "./pg_stat_tmp/*",
  "./pg_subtrans/*",
  "pgsql_tmp*",
];

async function tar(args: string[]): Promise<void> {
  const proc = spawn(["tar", ...args], { stdout: "ignore", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  // 1: files changed while read, which the WAL replay at restore makes whole.
  if (code > 1) throw new AppError("INTERNAL", `tar failed (exit ${code}): ${stderr.trim().split("\n").slice(-2).join(" ")}`);
}

/** The server's data folder when it is on this machine and readable here, else null. */
export async function localDataDirectory(url: string): Promise<string | null> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [{ dir }] = await client<{ dir: string }[]>`select current_setting('data_directory') as dir`;
    return existsSync(join(dir, "PG_VERSION")) ? dir : null;
  } catch {
    return null; // not allowed to read the setting: not ours
  } finally {
    await client.end();
  }
}

/** Writes an online base backup of the cluster at `dataDir` to the tar file `file`. */
export async function backupCluster(url: string, dataDir: string, file: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  const session = await client.reserve();
  const work = `${file}.label`;
  try {
    // Temporary: dropped with this session. It keeps every WAL segment from now on until then.
    await session`select pg_create_physical_replication_slot(${`ops_backup_${process.pid}`}, true, true)`;
    await session`select pg_backup_start(${`ops backup ${new Date().toISOString()}`}, true)`;
    await tar(["-c", "-f", file, "--ignore-failed-read", ...EXCLUDED.map((e) => `--exclude=${e}`), "-C", dataDir, "."]);
    const [{ labelfile }] = await session<{ labelfile: string }[]>`select labelfile from pg_backup_stop(false)`;
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, "backup_label"), labelfile);
    await tar(["-r", "-f", file, "-C", dataDir, "./pg_wal"]);
    await tar(["-r", "-f", file, "-C", work, "./backup_label"]);
  } finally {
    rmSync(work, { recursive: true, force: true });
    session.release();
    await client.end();
  }
}

/** Whether `file` is a tar archive (a cluster backup) rather than a pg_dump archive. */
export function isClusterBackup(head: Buffer): boolean {
  return head.subarray(257, 262).toString("latin1") === "ustar";
}

/**
 * Unpacks a cluster backup into `dir`/data (a new folder) and starts it once on a free port, so
 * Postgres replays the WAL and the copy is known to open; `EMBEDDED_PG_DIR=<dir> npm start` runs on it.
 */
export async function restoreCluster(file: string, dir: string): Promise<{ dir: string; databases: string[] }> {
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0)
    throw new AppError("VALIDATION_FAILED", `${target} is not empty; a restore goes into a new folder.`);
  const dataDir = join(target, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    await tar(["-x", "-f", file, "-C", dataDir]);
    // The embedded server runs as the OS user postgres when started by root: it must own its files.
    if (process.getuid?.() === 0 && Bun.spawnSync(["chown", "-R", "postgres:postgres", dataDir]).exitCode !== 0)
      throw new AppError("INTERNAL", `could not give ${dataDir} to the OS user postgres`);
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const db = await startEmbeddedPostgres({ dir: target, port, database: "postgres" });
    try {
      const client = postgres(db.url, { max: 1, onnotice: () => {} });
      const rows = await client<{ datname: string }[]>`select datname from pg_database where not datistemplate and datname <> 'postgres' order by 1`;
      await client.end();
      return { dir: target, databases: rows.map((r) => r.datname) };
    } finally {
      await db.stop();
    }
  } catch (err) {
    rmSync(target, { recursive: true, force: true });
    throw err;
  }
}
