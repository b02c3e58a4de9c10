// The database connection, shared by the app, the worker and the ops CLI: one postgres.js pool per
// process, and drizzle over it. Which of the two a statement uses: docs/db.md ("drizzle or raw SQL").

import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "../../../db/schema";
import { createBreaker } from "./breaker.server";
import { config } from "./config.server";

export function connect(url: string, max: number, appName: string) {
  return postgres(url, {
    max,
    idle_timeout: 30,
    connect_timeout: 5,
    // postgres.js's default waits up to 20 s before reconnecting after repeated failures, so
    // queries queued in an outage hung for seconds and the pool lagged behind a recovered server.
    // The app's breaker does the backing off; the pool only spaces its attempts a little.
    backoff: (retries: number) => Math.min(0.05 * retries, 0.5),
    onnotice: () => {},
    // int8 counters fit a JS number (2^53); quantities are capped at 1,000,000.
    types: { bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
    connection: { application_name: appName, TimeZone: "UTC" },
  });
}

export const sql = connect(config.DATABASE_URL, config.DATABASE_POOL_SIZE, "metered-app");
// Note: drizzle makes this client return timestamps as strings on raw queries; raw SQL here
// selects epoch milliseconds instead (see usage/engine.server.ts).
export const db = drizzle(sql, { schema });
export type Db = typeof db;
/** A transaction of `db`: writers that must run inside their caller's take one. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export { schema };

/**
 * Postgres down, restarting or refusing connections (not a bad statement): retryable, a 503.
 * drizzle wraps the driver's error in its own, with the driver's as `cause`.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; cause?: unknown };
  const code = typeof e?.code === "string" ? e.code : typeof e?.errno === "string" ? e.errno : "";
  return (
    ["ECONNREFUSED", "ECONNRESET", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "57P01", "57P02", "57P03"].includes(
      code,
    ) ||
    code.startsWith("08") ||
    (e?.cause !== undefined && e.cause !== err && isDatabaseUnavailable(e.cause))
  );
}

// The breaker's probe. It asks on a connection of its own, cut off after 1 s: the pool's may be
// waiting out a 5 s connect timeout, or queued behind one. Once Postgres answers, every pool
// connection is used once before requests come back: a connection cut mid-query fails its first
// query after reconnecting with the error it was cut with (postgres.js keeps it), and that error
// is spent here rather than on a request. That warm-up is bounded too, and its errors are expected.
async function databaseAnswers(): Promise<void> {
  const probe = postgres(config.DATABASE_URL, { max: 1, connect_timeout: 1, onnotice: () => {}, connection: { application_name: "metered-app-probe" } });
  const cutOff = setTimeout(() => void probe.end({ timeout: 0 }), 1000);
  try {
    await probe`select 1`;
  } finally {
    clearTimeout(cutOff);
    await probe.end({ timeout: 0 });
  }
  await Promise.race([Promise.allSettled(Array.from({ length: config.DATABASE_POOL_SIZE }, () => sql`select 1`)), Bun.sleep(1000)]);
}

// The app's breaker in front of Postgres: one connection failure opens it, and API requests are
// answered 503 at once, instead of queueing behind connection attempts, until the probe passes.
export const databaseBreaker = createBreaker({
  name: "database",
  failuresToOpen: 1,
  probeEveryMs: config.DATABASE_BREAKER_PROBE_MS,
  probeTimeoutMs: 2500,
  probe: databaseAnswers,
  whileOpen: "answering 503 SERVICE_UNAVAILABLE",
});

/** Call with any error of a database call: an outage opens the breaker. */
export function noteDatabaseError(err: unknown): void {
  if (isDatabaseUnavailable(err)) databaseBreaker.failed(err);
}
