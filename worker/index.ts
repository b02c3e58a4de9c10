// The background worker: graphile-worker on the app's Postgres, no separate broker.
import { Logger, parseCrontab, run } from "graphile-worker";
import { config } from "../app/server/config.server";
import { log } from "../app/server/log.server";
import { syncPlanCatalog } from "../app/server/plans.server";
import { sql } from "../app/server/db.server";
import { crontab, taskList } from "./tasks";
import { initSentry } from "../app/server/sentry.server";
import { flushObservations } from "../app/server/observe-http.server";
import { reportJobsFailedForGood, startWorkerMetrics } from "./observe";

let stopping = false;

const logger = new Logger((scope) => (level, message, meta) => {
  // While stopping (Ctrl-C stops Postgres at the same time), lost connections are expected.
  if (stopping && level === "error") level = "debug" as typeof level;
  const line = { scope: scope.label ?? "worker", task: scope.taskIdentifier, jobId: scope.jobId, ...meta };
  if (level === "error") log.error(line, message);
  else if (level === "warning") log.warn(line, message);
  else if (level === "info" && !message.startsWith("Completed task")) log.info(line, message);
  else log.debug(line, message);
});

await initSentry("worker");
await syncPlanCatalog();
const metricsServer = startWorkerMetrics();

const runner = await run({
  connectionString: config.DATABASE_URL,
  concurrency: 4,
  // Jobs of one customer run one at a time (their queue); a queued one that was skipped while
  // its queue was busy is picked up by the next poll, so poll often (a cheap indexed query).
  pollInterval: 100,
  taskList,
  parsedCronItems: parseCrontab(crontab),
  logger,
  noHandleSignals: true,
});
reportJobsFailedForGood(runner.events);
log.info({ concurrency: 4 }, "worker started");

async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "worker stopping");
  await runner.stop();
  metricsServer?.stop();
  await flushObservations();
  await sql.end({ timeout: 5 });
  process.exit(0);
}
// Ctrl-C reaches Postgres too: connections dropped while stopping are expected, not crashes.
process.on("uncaughtException", (err) => {
  if (stopping) return;
  log.fatal({ err }, "worker crashed");
  process.exit(1);
});
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
await runner.promise;
