// `bun run ops backup` / `ops restore`: a logical backup of the database with pg_dump and its
// restore into a fresh database with pg_restore. pg_dump reads every table in one snapshot, so the
// usage counters, the ledger and the usage reports in a backup taken under load agree with each
// other (point-in-time recovery of production is WAL archiving: docs/operations.md).
//
// pg_dump refuses a server newer than itself, and the embedded Postgres ships no client tools:
// the newest pg_dump / pg_restore found (PG_BIN, PATH, Debian's /usr/lib/postgresql/*/bin) whose
// major version is at least the server's is used. Without one, a server whose data folder is on
// this machine (the embedded Postgres) gets an online base backup of its cluster instead
// (cluster-backup.server.ts); any other server, an error saying what to install.

import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { spawn } from "bun";
import postgres from "postgres";
import { config } from "../platform/config.server";
import { AppError } from "../platform/errors.server";
import { backupCluster, isClusterBackup, localDataDirectory, restoreCluster } from "./cluster-backup.server";

type PgTool = { path: string; major: number; version: string };
type ToolName = "pg_dump" | "pg_restore";

/** Every copy of `name` on this machine that answers `--version`, newest first. */
function findTools(name: ToolName): PgTool[] {
  const dirs = [
    ...(process.env.PG_BIN ? [process.env.PG_BIN] : []),
    ...(process.env.PATH ?? "").split(":").filter(Boolean),
    ...(existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").map((v) => `/usr/lib/postgresql/${v}/bin`) : []),
  ];
  const found = new Map<string, PgTool>();
  for (const dir of dirs) {
    if (!existsSync(resolve(dir, name))) continue;
    // One entry per file (/bin is often /usr/bin).
    const path = realpathSync(resolve(dir, name));
    if (found.has(path)) continue;
    const run = Bun.spawnSync([path, "--version"], { stdout: "pipe", stderr: "ignore" });
    const version = /\(PostgreSQL\) (\d+)(\.\d+)?/.exec(run.stdout.toString());
    if (run.exitCode === 0 && version) found.set(path, { path, major: Number(version[1]), version: version[0].replace("(PostgreSQL) ", "") });
  }
  return [...found.values()].sort((a, b) => b.major - a.major);
}

/** The newest `name` able to work with a server of major version `serverMajor`. */
function toolFor(name: ToolName, serverMajor: number): PgTool {
  const tools = findTools(name);
  const fit = tools.find((t) => t.major >= serverMajor);
  if (fit) return fit;
  const seen = tools.length ? `found only ${tools.map((t) => `${name} ${t.major} (${t.path})`).join(", ")}` : `found no ${name}`;
  throw new AppError(
    "SERVICE_UNAVAILABLE",
    `The database is PostgreSQL ${serverMajor} and ${name} must be version ${serverMajor} or newer; ${seen}. ` +
      `Install PostgreSQL ${serverMajor}'s client tools (Debian/Ubuntu: postgresql-client-${serverMajor} from the PostgreSQL apt repository) ` +
      "and put them on PATH, or set PG_BIN to the folder holding them.",
  );
}

async function serverMajor(url: string): Promise<number> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [{ v }] = await client<{ v: number }[]>`select current_setting('server_version_num')::int as v`;
    return Math.floor(v / 10_000);
  } finally {
    await client.end();
  }
}

/** The connection for a client tool: the URL without its password, which goes in PGPASSWORD (never on a command line). */
function toolConnection(url: string): { dbname: string; env: Record<string, string> } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = "";
  return { dbname: u.toString(), env: { ...(process.env as Record<string, string>), ...(password ? { PGPASSWORD: password } : {}) } };
}

async function runTool(args: string[], env: Record<string, string>): Promise<void> {
  const proc = spawn(args, { env, stdout: "ignore", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) {
    const tool = args[0].split("/").pop();
    throw new AppError("INTERNAL", `${tool} failed (exit ${code}): ${stderr.trim().split("\n").slice(-3).join(" ")}`);
  }
}

export type BackupResult = {
  /** `dump`: pg_dump of the database; `cluster`: a base backup of the whole (embedded) cluster. */
  kind: "dump" | "cluster";
  file: string;
  bytes: number;
  database: string;
  serverVersion: number;
  tool: string;
  tookMs: number;
};

/** Backs DATABASE_URL's database up into `file` (default `.data/backups/<db>-<UTC time>.dump`), readable by this user only. */
export async function backupDatabase(file?: string, onStart: (tool: string) => void = () => {}, url = config.DATABASE_URL): Promise<BackupResult> {
  const started = Date.now();
  const database = new URL(url).pathname.slice(1);
  const target = resolve(file ?? join(".data", "backups", `${database}-${new Date().toISOString().replace(/[:.]/g, "-")}.dump`));
  if (existsSync(target)) throw new AppError("VALIDATION_FAILED", `${target} already exists; name a new file.`);
  const major = await serverMajor(url);
  let pgDump: PgTool | null = null;
  let dataDir: string | null = null;
  try {
    pgDump = toolFor("pg_dump", major);
  } catch (err) {
    dataDir = await localDataDirectory(url);
    if (!dataDir) throw err;
  }
  const tool = pgDump ? `pg_dump ${pgDump.version} (${pgDump.path})` : `a base backup of the cluster in ${dataDir} (no pg_dump ${major} installed)`;
  onStart(tool);
  mkdirSync(dirname(target), { recursive: true });
  // Written under a temporary name and renamed once complete: a file with the final name is a whole backup.
  const partial = `${target}.partial`;
  // Made before the tool opens it, so it is never readable by others (the data holds emails).
  writeFileSync(partial, "", { mode: 0o600 });
  chmodSync(partial, 0o600);
  try {
    if (pgDump) {
      const { dbname, env } = toolConnection(url);
      await runTool([pgDump.path, "--format=custom", "--file", partial, "--dbname", dbname], env);
    } else if (dataDir) await backupCluster(url, dataDir, partial);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
  renameSync(partial, target);
  return { kind: pgDump ? "dump" : "cluster", file: target, bytes: statSync(target).size, database, serverVersion: major, tool, tookMs: Date.now() - started };
}

export type RestoreResult =
  | { kind: "dump"; database: string; server: string; tool: string; tookMs: number }
  | { kind: "cluster"; dir: string; databases: string[]; tookMs: number };

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const stamp = () => new Date().toISOString().slice(0, 19).replace(/\D/g, "");

/**
 * Restores a backup made by `backupDatabase`. A dump goes into a new database `opts.database` on
 * DATABASE_URL's server (default `<the dump's database>_restored_<UTC time>`): an existing one is
 * refused, and a failed restore drops the one it created. A cluster backup goes into the new
 * folder `opts.dir` (default `.data/pg-restored-<UTC time>`), to run with EMBEDDED_PG_DIR.
 */
export async function restoreDatabase(
  file: string,
  opts: { database?: string; dir?: string } = {},
  onStart: (target: string) => void = () => {},
  url = config.DATABASE_URL,
): Promise<RestoreResult> {
  const started = Date.now();
  const source = resolve(file);
  if (!existsSync(source) || !statSync(source).isFile()) throw new AppError("VALIDATION_FAILED", `${source} is not a file.`);
  const head = Buffer.alloc(512);
  const fd = openSync(source, "r");
  readSync(fd, head, 0, 512, 0);
  closeSync(fd);
  if (isClusterBackup(head)) {
    const dir = resolve(opts.dir ?? join(".data", `pg-restored-${stamp()}`));
    onStart(dir);
    return { kind: "cluster", ...(await restoreCluster(source, dir)), tookMs: Date.now() - started };
  }
  if (head.subarray(0, 5).toString("latin1") !== "PGDMP")
    throw new AppError("VALIDATION_FAILED", `${source} is not a backup made by \`ops backup\` (a pg_dump custom-format archive or a cluster backup).`);
  const name = opts.database ?? `${new URL(url).pathname.slice(1)}_restored_${stamp()}`;
  if (!DATABASE_NAME.test(name))
    throw new AppError("VALIDATION_FAILED", `"${name}" is not a database name this command creates: lower-case letters, digits and _, at most 63.`);
  const pgRestore = toolFor("pg_restore", await serverMajor(url));
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
    if (exists) throw new AppError("VALIDATION_FAILED", `The database ${name} already exists; a restore goes into a new one.`);
    onStart(name);
    await admin`create database ${admin(name)}`;
    const target = new URL(url);
    target.pathname = `/${name}`;
    const { dbname, env } = toolConnection(target.toString());
    try {
      // One transaction: the new database holds the whole backup or nothing of it.
      await runTool([pgRestore.path, "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--dbname", dbname, source], env);
    } catch (err) {
      await admin`drop database if exists ${admin(name)} with (force)`;
      throw err;
    }
  } finally {
    await admin.end();
  }
  const server = new URL(url);
  return {
    kind: "dump",
    database: name,
    server: `${server.hostname}:${server.port || 5432}`,
    tool: `pg_restore ${pgRestore.version} (${pgRestore.path})`,
    tookMs: Date.now() - started,
  };
}
