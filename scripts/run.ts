// `npm start`: the whole system on one machine. Starts an embedded Postgres when DATABASE_URL is
// not set, migrates, builds the app if needed, then runs APP_PROCESSES app processes on one port
// (default: config.server.ts's defaultAppProcesses), WORKER_PROCESSES workers, the local Stripe and the local Stigg under the supervisor
// (scripts/supervisor.ts: a crashed process is restarted with backoff), with one readable log
// stream, and stops everything on Ctrl-C or SIGTERM.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "bun";
import { STRIPE_EVENT_TYPES, STRIPE_WEBHOOK_PATH } from "../app/server/billing/webhook-events.server";
import { LOCAL_WEBHOOK_SECRET } from "../app/server/platform/local-stripe";
import type { EmbeddedDb } from "../db/embedded";
import { migrateDatabase } from "../db/migrate";
import { formatLogLine } from "./log-format";
import { clearRunState, runStateFile, writeRunState } from "./run-state";
import { portIsFree, Supervisor } from "./supervisor";

const root = join(import.meta.dir, "..");
const say = (msg: string) => console.log(`\x1b[1m[run]\x1b[0m ${msg}`);
const env: Record<string, string> = { ...(process.env as Record<string, string>) };
const port = Number(env.PORT ?? 3000);
const host = env.HOST ?? "127.0.0.1";

let embedded: EmbeddedDb | null = null;
let stopping = false;
// Until the system is ready a process that exits is a configuration error: everything stops.
// Once ready, a process that exits is restarted (with backoff).
let ready = false;
// The instance id each child announced when it started listening: what proves that the process
// answering on a port is the one we started, not another copy's.
const announced = new Map<string, { instanceId: string; url: string }>();
let shutdownGraceMs = 10_000;

const supervisor = new Supervisor({
  cwd: root,
  env,
  onLine: (name, line) => {
    console.log(formatLogLine(name, line));
    noteAnnouncement(name, line);
  },
  say,
  restartable: () => ready,
  onFatal: (_name, code) => void stopAll(code),
  // A restarted child (any of them, not only an app) has a new pid: the state file says so.
  onStarted: () => {
    if (ready) saveRunState(announced.get(appNames[0])?.url ?? "");
  },
});

async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  say("stopping…");
  // Each app process finishes its requests within SHUTDOWN_GRACE_MS; then it is killed. The local
  // Stripe and the local Stigg go next (the draining apps and workers may still call them), Postgres last. Every child
  // and Postgres run in sessions of their own: a terminal's Ctrl-C reaches only this process.
  await supervisor.stop(shutdownGraceMs + 3000, ["stripe", "stigg"]);
  if (embedded) await embedded.stop().catch(() => {});
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The app logs `app listening` with its url and instanceId; the local Stripe says it in words. */
function noteAnnouncement(name: string, line: string) {
  if (!line.startsWith("{")) return;
  try {
    const { msg, url, instanceId } = JSON.parse(line) as { msg?: string; url?: string; instanceId?: string };
    const local = /^local (?:Stripe|Stigg) listening on (\S+) \(instance (\w+)\)$/.exec(msg ?? "");
    if (msg === "app listening" && url && instanceId) {
      announced.set(name, { url, instanceId });
      // A restarted app process has a new instance id: the state file says so.
      if (ready) saveRunState(url);
    } else if (local) announced.set(name, { url: local[1], instanceId: local[2] });
  } catch {
    // not a JSON log line
  }
}

/**
 * Waits until every child in `names` has said it listens and `path` on their (shared) address
 * answers 200 with one of their instance ids, on several new connections (the kernel spreads
 * them over the processes sharing the port). Whatever else answers on that port (another copy,
 * another program) is never taken for ours: then, or after 30 s, everything stops with a message.
 */
async function waitForOwn(names: string[], path: string, instanceIdOf: (body: unknown) => unknown): Promise<string> {
  let confirmed = 0;
  for (let i = 0; i < 300 && !stopping; i++) {
    const own = names.map((n) => announced.get(n));
    const url = own[0]?.url;
    if (url && own.every((o) => o !== undefined)) {
      const ours = new Set(own.map((o) => o?.instanceId));
      try {
        const r = await fetch(`${url}${path}`, { headers: { connection: "close" } });
        const id = r.ok ? instanceIdOf(await r.json()) : undefined;
        if (ours.has(id as string) && ++confirmed >= 2 * names.length) return url;
        if (id !== undefined && !ours.has(id as string)) {
          say(`${url} answers as instance ${String(id)}, not the ${names.join(", ")} we started: is another copy using that port?`);
          await stopAll(1);
        }
        continue;
      } catch {
        // not answering yet
      }
    }
    await Bun.sleep(100);
  }
  if (!stopping) say(`${names.join(", ")} did not answer as the processes we started within 30 s; stopping everything.`);
  await stopAll(1);
  // Stopping ends this process: nothing after the wait may run (no "ready", no state file).
  return new Promise<never>(() => {});
}

function saveRunState(appUrl: string) {
  const appInstanceIds = appNames.map((n) => announced.get(n)?.instanceId ?? "");
  writeRunState({
    pid: process.pid,
    startedAt,
    databaseUrl: env.DATABASE_URL,
    appUrl,
    appInstanceId: appInstanceIds[0],
    appInstanceIds,
    processes: supervisor.pids(),
    stripeLocalPort: env.STRIPE_SECRET_KEY ? null : Number(env.STRIPE_LOCAL_PORT),
    stiggLocalUrl: env.STIGG_API_KEY ? null : (env.STIGG_API_URL ?? null),
  });
}

// 0. A session secret kept in .data, so local sign-ins survive restarts.
if (!env.SESSION_SECRET) {
  const file = join(root, ".data", "session-secret");
  if (!existsSync(file)) {
    mkdirSync(join(root, ".data"), { recursive: true });
    writeFileSync(file, crypto.randomUUID() + crypto.randomUUID(), { mode: 0o600 });
  }
  env.SESSION_SECRET = readFileSync(file, "utf8").trim();
}

// 1. Postgres
if (!env.DATABASE_URL) {
  const pgDir = env.EMBEDDED_PG_DIR || join(root, ".data/pg");
  say(`DATABASE_URL not set: starting the embedded Postgres in ${pgDir} …`);
  // Postgres runs in a session of its own (db/embedded.ts): Ctrl-C reaches this process, which
  // stops it last, once the apps and workers using it have drained.
  const { startEmbeddedPostgres } = await import("../db/embedded");
  embedded = await startEmbeddedPostgres({
    dir: pgDir,
    port: Number(env.EMBEDDED_PG_PORT ?? 54320),
    database: "metered",
  });
  env.DATABASE_URL = embedded.url;
}
say("applying migrations …");
await migrateDatabase(env.DATABASE_URL);
// The app's own configuration, validated here so a bad variable stops the run before any process.
process.env.DATABASE_URL = env.DATABASE_URL;
process.env.SESSION_SECRET = env.SESSION_SECRET;
const { config } = await import("../app/server/platform/config.server");
shutdownGraceMs = config.SHUTDOWN_GRACE_MS;
const appNames = Array.from({ length: config.APP_PROCESSES }, (_, i) => `app.${i + 1}`);
const startedAt = new Date().toISOString();

// 2. Build (only when sources changed since the last build)
const stamp = join(root, "build", "version.txt");
if (!existsSync(stamp) || newestMtime(join(root, "app")) > statSync(stamp).mtimeMs) {
  say("building the app …");
  const b = spawn(["bun", "--bun", "remix", "build"], { cwd: root, env, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(b.stdout).text(), new Response(b.stderr).text()]);
  if ((await b.exited) !== 0) {
    console.error(out, err);
    await stopAll(1);
  }
}

// 3. Processes: the local Stripe when no Stripe key is configured, the apps, the workers. The
// app processes share the port; anything else already listening on it stops the run here.
if (!portIsFree(host, port)) {
  say(`port ${port} on ${host} is in use by another program; set PORT to a free one.`);
  await stopAll(1);
}
if (!env.STRIPE_SECRET_KEY) {
  env.STRIPE_LOCAL_PORT ??= "12111";
  supervisor.start("stripe", ["bun", "stripe-emulator/main.ts"], {
    STRIPE_WEBHOOK_URL: `http://${host}:${port}${STRIPE_WEBHOOK_PATH}`,
    STRIPE_WEBHOOK_SECRET: LOCAL_WEBHOOK_SECRET,
    // The endpoint sends the types the app acts on, as the one on a real account must (docs/going-live.md).
    STRIPE_WEBHOOK_EVENTS: STRIPE_EVENT_TYPES.join(","),
  });
  await waitForOwn(["stripe"], "/health", (b) => (b as { instanceId?: string }).instanceId);
}
// The local Stigg when no Stigg key is configured: the apps and workers reach it by STIGG_API_URL.
if (!env.STIGG_API_KEY) {
  env.STIGG_LOCAL_PORT ??= "12112";
  env.STIGG_API_URL = `http://127.0.0.1:${env.STIGG_LOCAL_PORT}`;
  supervisor.start("stigg", ["bun", "stigg-emulator/main.ts"]);
  await waitForOwn(["stigg"], "/health", (b) => (b as { instanceId?: string }).instanceId);
}
for (const name of appNames) supervisor.start(name, ["bun", "server.ts"]);
for (let i = 1; i <= config.WORKER_PROCESSES; i++) supervisor.start(`worker.${i}`, ["bun", "worker/index.ts"]);

// 4. Ready: written down for `bun run ops` (removed on a clean stop).
const url = await waitForOwn(appNames, "/api/diag/smoke", (b) => (b as { data?: { instanceId?: string } }).data?.instanceId);
ready = true;
saveRunState(url);
// However this process ends.
process.on("exit", () => clearRunState());
say(
  `ready: open ${url}  (instance ${appNames.map((n) => announced.get(n)?.instanceId).join(" ")}; ${appNames.length} app process(es), ${config.WORKER_PROCESSES} worker(s); where it runs: ${runStateFile()}; Ctrl-C stops everything)`,
);
