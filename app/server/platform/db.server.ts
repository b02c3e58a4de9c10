// The database connection, shared by the app, the worker and the ops CLI: one postgres.js pool per
// process, and drizzle over it. Which of the two a statement uses: docs/db.md ("drizzle or raw SQL").

import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "../../../db/schema";
import { createBreaker } from "./breaker.server";
import { config } from "./config.server";

/** A session's timeouts, in ms (0: none); Postgres applies them from the connection's start. */
export type SessionTimeouts = { statement: number; lock: number; idleInTransaction: number };

export function connect(url: string, max: number, appName: string, timeouts?: SessionTimeouts, keepOpen = false) {
  return postgres(url, {
    max,
    // A pool that keeps its connections open never makes a request wait on a reconnect: postgres.js
    // hands a query to a closed connection (which must connect first) rather than to a busy one.
    idle_timeout: keepOpen ? 0 : 30,
    max_lifetime: keepOpen ? null : undefined,
    connect_timeout: 5,
    // postgres.js's default waits up to 20 s before reconnecting after repeated failures, so
    // queries queued in an outage hung for seconds and the pool lagged behind a recovered server.
    // The app's breaker does the backing off; the pool only spaces its attempts a little.
    backoff: (retries: number) => Math.min(0.05 * retries, 0.5),
    onnotice: () => {},
    // int8 counters fit a JS number (2^53); quantities are capped at 1,000,000.
    types: { bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
    // Sent in the startup message: the session's defaults, with no statement of their own.
    connection: {
      application_name: appName,
      TimeZone: "UTC",
      ...(timeouts && {
        statement_timeout: timeouts.statement,
        lock_timeout: timeouts.lock,
        idle_in_transaction_session_timeout: timeouts.idleInTransaction,
      }),
    },
  });
}

// Two pools per process, each with its own session timeouts:
// - `sql` (and drizzle's `db` over it): everything but the hot path; a statement may run
//   DATABASE_STATEMENT_TIMEOUT_MS, wait DATABASE_LOCK_TIMEOUT_MS for a lock, and a transaction
//   may sit idle DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS (a stopped process must not keep the
//   subscription row locks every usage writer takes).
// - `hotSql`: the quota read, the usage batch and the API key lookup, with a budget of
//   DATABASE_HOT_TIMEOUT_MS for any statement (lock waits included). Its own pool, so a slow
//   portal page or job never holds the connections the hot path needs.
export const sql = connect(config.DATABASE_URL, config.DATABASE_POOL_SIZE, "metered-app", {
  statement: config.DATABASE_STATEMENT_TIMEOUT_MS,
  lock: config.DATABASE_LOCK_TIMEOUT_MS,
  idleInTransaction: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
});
//   Its connections stay open (no idle timeout, no lifetime): a key lookup every few seconds on a
//   connection the idle timeout had closed waited for a reconnect, and under load some missed
//   the 1.25 s deadline (a 503 while Postgres was healthy).
export const hotSql = connect(
  config.DATABASE_URL,
  config.DATABASE_POOL_SIZE,
  "metered-hot",
  {
    statement: config.DATABASE_HOT_TIMEOUT_MS,
    lock: config.DATABASE_HOT_TIMEOUT_MS,
    idleInTransaction: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  },
  true,
);

/** Closes both pools (a graceful stop), waiting at most `timeout` seconds for their queries. */
export async function closeDatabase(timeout: number): Promise<void> {
  await Promise.all([sql.end({ timeout }), hotSql.end({ timeout })]);
}

// Note: drizzle makes this client return timestamps as strings on raw queries; raw SQL here
// selects epoch milliseconds instead (see usage/engine.server.ts).
export const db = drizzle(sql, { schema });
export type Db = typeof db;
/** A transaction of `db`: writers that must run inside their caller's take one. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export { schema };

/**
 * Postgres down, restarting, refusing connections or not answering within the hot path's
 * deadline (not a bad statement): retryable, a 503, and the breaker opens.
 * drizzle wraps the driver's error in its own, with the driver's as `cause`.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = codeOf(err);
  return (
    [
      "ECONNREFUSED",
      "ECONNRESET",
      "CONNECTION_CLOSED",
      "CONNECTION_ENDED",
      "CONNECTION_DESTROYED",
      "CONNECT_TIMEOUT",
      DEADLINE_EXCEEDED,
      "57P01",
      "57P02",
      "57P03",
    ].includes(code) ||
    code.startsWith("08") ||
    (hasCause(err) && isDatabaseUnavailable((err as { cause: unknown }).cause))
  );
}

/**
 * A statement Postgres cut off by its own timeout (57014 statement_timeout, 55P03 lock_timeout,
 * 25P03 idle in transaction): Postgres answers, so the breaker stays closed, but the request is
 * retryable, a 503. Nothing of it committed: a statement timeout is disarmed before the commit.
 */
export function isDatabaseTimeout(err: unknown): boolean {
  const code = codeOf(err);
  return code === "57014" || code === "55P03" || code === "25P03" || (hasCause(err) && isDatabaseTimeout((err as { cause: unknown }).cause));
}

function codeOf(err: unknown): string {
  const e = err as { code?: unknown; errno?: unknown };
  return typeof e?.code === "string" ? e.code : typeof e?.errno === "string" ? e.errno : "";
}
const hasCause = (err: unknown) => {
  const cause = (err as { cause?: unknown })?.cause;
  return cause !== undefined && cause !== err;
};

const DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED";
// The app waits this long for a hot statement: Postgres's own statement_timeout answers first
// whenever Postgres runs at all, so reaching this means it does not (stopped, a black hole).
const DEADLINE_MARGIN_MS = 250;
const HOT_DEADLINE_MS = config.DATABASE_HOT_TIMEOUT_MS > 0 ? config.DATABASE_HOT_TIMEOUT_MS + DEADLINE_MARGIN_MS : 0;

/**
 * A hot-path statement, answered or failed within HOT_DEADLINE_MS. Past it the caller gets a
 * DEADLINE_EXCEEDED error (the breaker opens: Postgres is not answering) while the statement
 * itself stays on its connection. Its outcome is unknown: a usage batch may still commit when
 * Postgres comes back, which is why the answer is a 503 the client retries with the same
 * request_id, and the retry replays what committed (a request_id is remembered for its period
 * and 24 h after) or is admitted once.
 */
export function withinHotDeadline<T>(statement: Promise<T>): Promise<T> {
  if (HOT_DEADLINE_MS === 0) return statement;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error("Postgres did not answer in time"), { code: DEADLINE_EXCEEDED })), HOT_DEADLINE_MS);
    statement.then(
      (value) => {
        clearTimeout(timer);
        lastAnswerAt = performance.now();
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

// When Postgres last answered a hot statement. A wait that ran out (a connect past its 5 s
// timeout, a statement past its deadline) is an outage only if Postgres answered nothing in the
// last DEADLINE_MARGIN_MS: one connection's slow reconnect while the others answer is not one.
// (Issue 21, item 4: after a restart under load the breaker opened three times on a healthy
// Postgres, each time for one pool connection's CONNECT_TIMEOUT; docs/operations.md.)
let lastAnswerAt = Number.NEGATIVE_INFINITY;

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
  const warmUp = [sql, hotSql].flatMap((pool) => Array.from({ length: config.DATABASE_POOL_SIZE }, () => pool`select 1`));
  await Promise.race([Promise.allSettled(warmUp), Bun.sleep(1000)]);
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

/**
 * Call with any error of a database call: an outage opens the breaker. A lost connection or a
 * refusal is one at once; a wait that ran out only when Postgres answered nothing meanwhile.
 */
export function noteDatabaseError(err: unknown): void {
  if (!isDatabaseUnavailable(err)) return;
  const ranOut = ["CONNECT_TIMEOUT", DEADLINE_EXCEEDED].includes(codeOf(err)) || codeOf((err as { cause?: unknown })?.cause) === "CONNECT_TIMEOUT";
  if (ranOut && performance.now() - lastAnswerAt < DEADLINE_MARGIN_MS) return;
  databaseBreaker.failed(err);
}
