// `bun run serve`: the production start. Runs APP_PROCESSES app processes (`bun server.ts`; by
// default one per core, a third of the cores beside a local Postgres) on one port, the kernel spreading connections over them (SO_REUSEPORT),
// and WORKER_PROCESSES workers (`bun worker/index.ts`, default 1), under the supervisor: a process
// that dies is restarted with backoff; SIGTERM or Ctrl-C stops each gracefully (an app finishes
// its requests, usage batches and key last-used writes). Children's JSON log lines pass through.
// Migrations are a separate deploy step (`bun run db:migrate`). Where a platform runs processes
// itself (systemd, Kubernetes), run N copies of `bun server.ts` with the same PORT instead.
import { join } from "node:path";
import { config } from "../app/server/platform/config.server";
import { log } from "../app/server/platform/log.server";
import { portIsFree, Supervisor } from "./supervisor";

const appNames = Array.from({ length: config.APP_PROCESSES }, (_, i) => `app.${i + 1}`);
const listening = new Set<string>();
let stopping = false;

const supervisor = new Supervisor({
  cwd: join(import.meta.dir, ".."),
  env: process.env as Record<string, string>,
  onLine: (name, line) => {
    process.stdout.write(`${line}\n`);
    if (line.includes('"msg":"app listening"')) listening.add(name);
  },
  say: (msg) => log.warn({ service: "supervisor" }, msg),
  // Until every app process has listened once, an exit is a configuration error: stop.
  restartable: () => listening.size === appNames.length,
  onFatal: (_name, code) => void stopAll(code),
});

async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  log.info({ service: "supervisor" }, "stopping every process");
  await supervisor.stop(config.SHUTDOWN_GRACE_MS + 3000);
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

if (!portIsFree(config.HOST, config.PORT)) {
  log.fatal({ service: "supervisor", host: config.HOST, port: config.PORT }, "the port is in use by another program");
  process.exit(1);
}
for (const name of appNames) supervisor.start(name, ["bun", "server.ts"]);
for (let i = 1; i <= config.WORKER_PROCESSES; i++) supervisor.start(`worker.${i}`, ["bun", "worker/index.ts"]);
log.info({ service: "supervisor", apps: appNames.length, workers: config.WORKER_PROCESSES, port: config.PORT }, "supervising");
