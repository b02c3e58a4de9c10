// The worker's observability: its own /metrics port, webhook convergence times (for the metric
// and the converge SLO), and jobs that failed for good reported to Sentry.
import type { WorkerEvents } from "graphile-worker";
import { metricsResponse, observeConverge } from "../app/server/observe/metrics.server";
import { captureException } from "../app/server/observe/sentry.server";
import { observeSlo } from "../app/server/observe/slo.server";
import { config } from "../app/server/platform/config.server";
import { log } from "../app/server/platform/log.server";

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

/**
 * Webhook receipt → converged, into the histogram and the converge SLO. Receipt, not Stripe's
 * event `created`: that is a test clock's frozen time on test clocks (which made false breaches),
 * or hours old on a retried delivery; what this system answers for starts at receipt.
 */
export function observeConvergence(receivedAt: Date): void {
  const seconds = (Date.now() - receivedAt.getTime()) / 1000;
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
