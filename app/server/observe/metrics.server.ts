// Prometheus metrics (prom-client's registry and text format): what the app and the worker expose
// on GET /metrics. Hot-path observation is O(1): label children are bound once and kept in maps,
// never built per request (fast-metrics.server.ts).
import { timingSafeEqual } from "node:crypto";
import client from "prom-client";
import type { Breaker } from "../platform/breaker.server";
import { config } from "../platform/config.server";
import { databaseBreaker, sql } from "../platform/db.server";
import { type CounterChild, FastCounter, FastHistogram, type HistogramChild } from "./fast-metrics.server";

/** Latency bounds (s); 0.05 is the quota SLO target, so "p95 within target" is exact. */
export const LATENCY_BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Convergence bounds (s); 5 is the converge SLO target. */
export const CONVERGE_BOUNDS = [0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 30, 60, 300, 1800];

export const metricsEnabled = config.METRICS === "on";

function create() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const http = new FastHistogram(
    "msp_http_request_duration_seconds",
    "HTTP request duration by route pattern, method and status.",
    ["route", "method", "status"],
    LATENCY_BOUNDS,
    registry,
  );
  const decisions = new FastCounter("msp_usage_decisions_total", "Usage record decisions by outcome.", ["outcome"], registry);
  const batch = new FastHistogram(
    "msp_usage_batch_size",
    "Requests per usage-record statement (group commit).",
    [],
    [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registry,
  );
  const quota = new FastHistogram(
    "msp_quota_check_duration_seconds",
    "Time to answer a quota check, from authentication to the summary.",
    [],
    LATENCY_BOUNDS,
    registry,
  );
  const converge = new FastHistogram(
    "msp_webhook_converge_seconds",
    "Stripe event created → the database converged (observed in the worker).",
    [],
    CONVERGE_BOUNDS,
    registry,
  );
  const stripe = new FastCounter(
    "msp_stripe_requests_total",
    "Requests to Stripe by outcome (ok, client_error, rate_limited, key_refused, server_error, network_error, timeout, breaker_open: not sent).",
    ["outcome"],
    registry,
  );
  const retention = new FastCounter("msp_retention_deleted_total", "Rows deleted by the retention job, by table (docs/operations.md).", ["table"], registry);
  return {
    registry,
    http,
    httpChildren: new Map<string, HistogramChild>(),
    decisions: new Map<string, CounterChild>(["admitted", "replayed", "denied", "conflict", "inactive"].map((o) => [o, decisions.child(o)])),
    batchSize: batch.child(),
    quotaCheck: quota.child(),
    converge: converge.child(),
    stripe,
    retention,
    scrapeCollectorsAdded: false,
  };
}

export const metrics = create();

// The methods a label may name; any other (a client may send any token as a method) is "other",
// so no client can multiply the series.
const METHOD_LABELS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** One HTTP request's duration; `route` is always a pattern, never the raw URL, and `method` a known one or "other". */
export function observeRequest(route: string, requestMethod: string, status: number, seconds: number): void {
  const method = METHOD_LABELS.has(requestMethod) ? requestMethod : "other";
  const key = `${route} ${method} ${status}`;
  let child = metrics.httpChildren.get(key);
  if (!child) {
    child = metrics.http.child(route, method, String(status));
    metrics.httpChildren.set(key, child);
  }
  child.observe(seconds);
}

export function observeDecision(outcome: string, n = 1): void {
  if (metricsEnabled) metrics.decisions.get(outcome)?.inc(n);
}

export function observeBatch(size: number): void {
  if (metricsEnabled) metrics.batchSize.observe(size);
}

export function observeQuotaCheck(seconds: number): void {
  if (metricsEnabled) metrics.quotaCheck.observe(seconds);
}

export function observeConverge(seconds: number): void {
  metrics.converge.observe(Math.max(0, seconds));
}

export type StripeOutcome = "ok" | "client_error" | "rate_limited" | "key_refused" | "server_error" | "network_error" | "timeout" | "breaker_open";

export function observeStripe(outcome: StripeOutcome): void {
  metrics.stripe.child(outcome).inc();
}

/** Rows the retention job deleted from one table. */
export function observeRetention(table: string, deleted: number): void {
  if (deleted > 0) metrics.retention.child(table).inc(deleted);
}

// The breakers shown by msp_breaker_open: the database's, and those the process adds (Redis's in
// the app, Stripe's wherever billing is loaded).
const breakers: Breaker[] = [databaseBreaker];

/** Shows a breaker in `msp_breaker_open{breaker}` (read when scraped). */
export function watchBreaker(breaker: Breaker): void {
  if (!breakers.includes(breaker)) breakers.push(breaker);
}

/**
 * Gauges read from Postgres when scraped (one small query each): the job queue by task from
 * graphile-worker's table, and the last drift measured per period and feature (slo_drift).
 */
function addScrapeCollectors(): void {
  if (metrics.scrapeCollectorsAdded) return;
  metrics.scrapeCollectorsAdded = true;
  const registers = [metrics.registry];
  new client.Gauge({
    name: "msp_jobs_queue_depth",
    help: "Jobs waiting to run (not failed for good) by task.",
    labelNames: ["task"] as const,
    registers,
    async collect() {
      this.reset();
      for (const r of await jobsByTask()) this.labels(r.task).set(r.queued);
    },
  });
  new client.Gauge({
    name: "msp_jobs_failed",
    help: "Jobs failed for good (the dead-letter queue) by task.",
    labelNames: ["task"] as const,
    registers,
    async collect() {
      this.reset();
      for (const r of await jobsByTask()) this.labels(r.task).set(r.failed);
    },
  });
  new client.Gauge({
    name: "msp_jobs_lag_seconds",
    help: "Age of the oldest job that is due and not running, by task.",
    labelNames: ["task"] as const,
    registers,
    async collect() {
      this.reset();
      for (const r of await jobsByTask()) this.labels(r.task).set(r.lag_s);
    },
  });
  new client.Gauge({
    name: "msp_breaker_open",
    help: "1 while the breaker in front of a dependency (database, redis, stripe) is open, else 0.",
    labelNames: ["breaker"] as const,
    registers,
    collect() {
      for (const b of breakers) this.labels(b.name).set(b.isOpen() ? 1 : 0);
    },
  });
  new client.Gauge({
    name: "msp_usage_drift_ratio",
    help: "|recorded − reported to Stripe| / reported, the worst org of each period and metered feature (last measurement).",
    labelNames: ["period", "metric"] as const,
    registers,
    async collect() {
      this.reset();
      const rows = await sql<{ period_key: string; metric: string; max_drift: number }[]>`select period_key, metric, max_drift from slo_drift`;
      for (const r of rows) this.labels(r.period_key, r.metric).set(r.max_drift);
    },
  });
}

type JobRow = { task: string; queued: number; failed: number; lag_s: number };
let jobsOfScrape: Promise<JobRow[]> | null = null;

/** One grouped scan of the jobs table per scrape, shared by the three job gauges. */
function jobsByTask(): Promise<JobRow[]> {
  if (jobsOfScrape) return jobsOfScrape;
  jobsOfScrape = sql<JobRow[]>`
    select t.identifier as task,
           count(*) filter (where j.attempts < j.max_attempts)::int as queued,
           count(*) filter (where j.attempts >= j.max_attempts)::int as failed,
           coalesce(extract(epoch from now() - min(j.run_at) filter (where j.locked_at is null and j.attempts < j.max_attempts and j.run_at <= now())), 0)::float8 as lag_s
      from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
     group by t.identifier`;
  return jobsOfScrape;
}

/** GET /metrics: Prometheus text, behind `Authorization: Bearer METRICS_TOKEN` when that is set. */
export async function metricsResponse(request: Request): Promise<Response> {
  if (!metricsEnabled) return new Response("Metrics are off (METRICS=off).\n", { status: 404 });
  const token = config.METRICS_TOKEN;
  if (token && !bearerMatches(request.headers.get("authorization"), token)) {
    return new Response("Unauthorized.\n", { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="metrics"' } });
  }
  addScrapeCollectors();
  try {
    return new Response(await metrics.registry.metrics(), { headers: { "Content-Type": metrics.registry.contentType } });
  } finally {
    jobsOfScrape = null;
  }
}

function bearerMatches(header: string | null, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, "") ?? "");
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
