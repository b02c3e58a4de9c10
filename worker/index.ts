// The background worker: graphile-worker on the app's Postgres, no separate broker.
import { Logger, parseCrontab, type RunnerOptions, run, type TaskList } from "graphile-worker";
import { syncPlanCatalog } from "../app/server/billing/plans.server";
import { initSentry } from "../app/server/observe/sentry.server";
import { flushObservations } from "../app/server/observe/slo.server";
import { config } from "../app/server/platform/config.server";
import { closeDatabase } from "../app/server/platform/db.server";
import { log } from "../app/server/platform/log.server";
import { guardProcess } from "../app/server/platform/process-guard.server";
import { livenessPlugin, startLiveness } from "./liveness";
import { reportJobsFailedForGood, startWorkerMetrics } from "./observe";
import { coreTasks, crontab, outboundTasks } from "./tasks";

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
// Before taking jobs: unlock what workers that are gone still hold (graphile-worker alone waits 4 h).
const liveness = await startLiveness();
const metricsServer = startWorkerMetrics();

// Two runners, each with its own slots and taking only its own tasks: the core tasks (Stripe's
// convergence, the usage report, the rollover, upkeep) and the outbound ones, which wait on an
// org's webhook receiver, Stigg or the mail server for up to their timeout (worker/tasks.ts).
// Failing webhook endpoints, Stigg and the mail server each wait in four queues (lanes: one job at
// a time each, deliver.server.ts, converge.server.ts, email.server.ts), so together they hold at
// most 12 of the 20 outbound slots, whatever hangs: healthy deliveries always have 8.
const CORE_SLOTS = 4;
const OUTBOUND_SLOTS = 20;
const common: RunnerOptions = {
  connectionString: config.DATABASE_URL,
  // Jobs of one customer run one at a time (their queue); a queued one that was skipped while
  // its queue was busy is picked up by the next poll, so poll often (a cheap indexed query).
  pollInterval: 100,
  logger,
  noHandleSignals: true,
  preset: { plugins: [livenessPlugin] },
};
const runners = await Promise.all([
  run({ ...common, concurrency: CORE_SLOTS, taskList: coreTasks as TaskList, parsedCronItems: parseCrontab(crontab) }),
  // A new job wakes a slot at once (graphile-worker listens for it); polling finds the rest (a
  // retry that came due, a lane that freed up). Each idle slot polls: every second, not every
  // 100 ms, for twenty of them. A pool as large as its slots (graphile-worker warns below that).
  run({ ...common, concurrency: OUTBOUND_SLOTS, pollInterval: 1000, maxPoolSize: OUTBOUND_SLOTS, taskList: outboundTasks as TaskList }),
]);
// Once running, a job's stray error is logged; it never ends the process (a failure to start
// still does). While stopping (Ctrl-C stops Postgres too), lost connections are expected.
guardProcess(() => stopping);
for (const runner of runners) reportJobsFailedForGood(runner.events);
log.info({ concurrency: CORE_SLOTS, outboundConcurrency: OUTBOUND_SLOTS }, "worker started");

async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "worker stopping");
  await Promise.all(runners.map((runner) => runner.stop()));
  await liveness.stop();
  metricsServer?.stop();
  await flushObservations();
  await closeDatabase(5);
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
// The runner itself failing is not one job's error: without it the process has nothing to do.
await Promise.all(runners.map((runner) => runner.promise)).catch((err) => {
  if (stopping) return;
  log.fatal({ err }, "worker runner stopped");
  process.exit(1);
});
