// The worker's observability: its own /metrics port, webhook convergence times (for the metric
// and the converge SLO), and jobs that failed for good reported to Sentry.
import type { WorkerEvents } from "graphile-worker";
import { config } from "../app/server/platform/config.server";
import { log } from "../app/server/platform/log.server";
import { metricsResponse, observeConverge } from "../app/server/observe/metrics.server";
import { observeSlo } from "../app/server/observe/slo.server";
import { captureException } from "../app/server/observe/sentry.server";

/** Serves GET /metrics on WORKER_METRICS_PORT (when set); returns the server to stop. */
export function startWorkerMetrics(): { stop: () => void } | null {
  if (config.WORKER_METRICS_PORT === undefined) return null;
  const server = Bun.serve({
    hostname: config.HOST,
    port: config.WORKER_METRICS_PORT,
    fetch: (request) =>
      new URL(request.url).pathname === "/metrics" && request.method === "GET" ? metricsResponse(request) : new Response("Not found.\n", { status: 404 }),
  });
  log.info({ url: `http://${server.hostname}:${server.port}/metrics` }, "worker metrics listening");
  return { stop: () => void server.stop() };
}

// Stripe signs events within 5 minutes of sending them: a `created` further from our receipt
// than that is a test clock's time, not the wall clock, and receipt is the better start.
const CLOCK_SKEW_MS = 5 * 60_000;

/** Stripe's event `created` → converged, into the histogram and the converge SLO. */
export function observeConvergence(createdAt: Date, receivedAt: Date): void {
  const start =
    Math.abs(createdAt.getTime() - receivedAt.getTime()) <= CLOCK_SKEW_MS ? Math.min(createdAt.getTime(), receivedAt.getTime()) : receivedAt.getTime();
  const seconds = (Date.now() - start) / 1000;
  observeConverge(seconds);
  observeSlo("converge", seconds);
}

/** A job past its last attempt (the dead-letter queue) goes to Sentry with its ids. */
export function reportJobsFailedForGood(events: WorkerEvents): void {
  events.on("job:failed", ({ job, error }) => {
    if (job.attempts < job.max_attempts) return;
    const payload = job.payload as { eventId?: unknown } | null;
    captureException(error, {
      task: job.task_identifier,
      job_id: String(job.id),
      job_key: job.key ?? undefined,
      stripe_event_id: typeof payload?.eventId === "string" ? payload.eventId : undefined,
      attempts: job.attempts,
    });
  });
}
