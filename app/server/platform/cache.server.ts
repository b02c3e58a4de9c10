// Optional Redis read-through cache (REDIS_URL). Every call degrades to "miss" within a short
// timeout when Redis is absent, down or slow: no caller ever fails or waits because of Redis.
// A Redis that keeps timing out (paused, overloaded) opens the cache breaker: then the cache is
// skipped without a call, so a sick Redis costs nothing, until a ping answers again.
import Redis from "ioredis";
import { createBreaker } from "./breaker.server";
import { config } from "./config.server";
import { log } from "./log.server";

const connect = (commandTimeout: number) =>
  new Redis(config.REDIS_URL!, {
    enableOfflineQueue: false, // fail at once while disconnected instead of queueing
    maxRetriesPerRequest: 0,
    commandTimeout,
    connectTimeout: 500,
    retryStrategy: (times) => Math.min(times * 250, 2000),
    keyPrefix: config.REDIS_PREFIX,
    lazyConnect: false,
  });

const redis = config.REDIS_URL ? connect(50) : null;
// Scripts (the per-key rate limits) on their own connection, with a longer timeout: a count that
// timed out may still have been made in Redis. 500 ms outlasts a busy app process's event loop; a Redis that is down fails at once, and a paused one
// opens the scripts' own breaker after a few timeouts. Its own breaker: the cache's 50 ms
// timeouts under load must not move rate limits off Redis.
export const SCRIPT_TIMEOUT_MS = 500;
const scripts = config.REDIS_URL ? connect(SCRIPT_TIMEOUT_MS) : null;
scripts?.on("error", () => {}); // reported by the cache connection's handler below
export const scriptBreaker = scripts
  ? createBreaker({
      name: "redis-scripts",
      failuresToOpen: config.REDIS_BREAKER_FAILURES,
      probeEveryMs: config.REDIS_BREAKER_PROBE_MS,
      probeTimeoutMs: 500,
      probe: () => scripts.ping(),
      whileOpen: "holding per-key rate limits per process,",
    })
  : null;

let lastErrorLog = 0;
redis?.on("error", (err) => {
  if (Date.now() - lastErrorLog < 30_000) return;
  lastErrorLog = Date.now();
  log.warn({ err: { message: err.message } }, "redis unavailable; serving from Postgres");
});

export const cacheBreaker = redis
  ? createBreaker({
      name: "redis",
      failuresToOpen: config.REDIS_BREAKER_FAILURES,
      probeEveryMs: config.REDIS_BREAKER_PROBE_MS,
      probeTimeoutMs: 500, // the ping itself gives up after the 50 ms command timeout
      probe: () => redis.ping(),
      whileOpen: "skipping the cache, serving from Postgres,",
    })
  : null;

function usable(): boolean {
  if (redis === null || redis.status !== "ready") return false;
  if (!cacheBreaker!.isOpen()) return true;
  cacheBreaker!.refused();
  return false;
}

// Every failure (timeout, reset) counts towards opening the breaker; a miss or an error is
// answered the same way to the caller, so nothing else is done with it.
function succeeded<T>(value: T): T {
  cacheBreaker!.succeeded();
  return value;
}
function failed(err: unknown): null {
  cacheBreaker!.failed(err);
  return null;
}

/** Whether a Redis cache is configured (REDIS_URL): without one, a hot caller skips building what it would cache. */
export const cacheConfigured = redis !== null;

export async function cacheGet(key: string): Promise<string | null> {
  if (!usable()) return null;
  return redis!.get(key).then(succeeded, failed);
}

export function cacheSet(key: string, value: string, ttlMs: number): void {
  if (!usable()) return;
  redis!.set(key, value, "PX", ttlMs).then(succeeded, failed);
}

export async function cacheDel(...keys: string[]): Promise<void> {
  if (!usable() || keys.length === 0) return;
  // A failed delete leaves an entry that expires by itself within its short TTL.
  await redis!.del(...keys).then(succeeded, failed);
}

const defined = new Set<string>();

/** Whether scripts can be sent at all (Redis configured and connected); a caller may skip its Redis path otherwise. */
export const scriptsConnected = () => scripts !== null && scripts.status === "ready";

/**
 * Runs a Lua script (one atomic operation in Redis) on `keys` (prefixed like every key) and
 * `args`. "unavailable" when Redis is absent, not connected or the scripts' breaker is open: the
 * script did not run. "failed" when the call failed or timed out: it may or may not have run.
 * Defined once per name (EVALSHA, with EVAL when the script is unknown).
 */
export async function cacheScript(
  name: string,
  lua: string,
  keys: string[],
  args: (string | number)[],
): Promise<{ value: unknown } | "unavailable" | "failed"> {
  if (scripts === null || scripts.status !== "ready") return "unavailable";
  if (scriptBreaker!.isOpen()) {
    scriptBreaker!.refused();
    return "unavailable";
  }
  if (!defined.has(name)) {
    scripts.defineCommand(name, { numberOfKeys: keys.length, lua });
    defined.add(name);
  }
  const run = (scripts as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[name];
  return run.call(scripts, ...keys, ...args).then(
    (value) => {
      scriptBreaker!.succeeded();
      return { value };
    },
    (err) => {
      scriptBreaker!.failed(err);
      return "failed" as const;
    },
  );
}

export async function cacheStatus(): Promise<"off" | "ok" | "down"> {
  if (!redis) return "off";
  try {
    await redis.ping();
    return "ok";
  } catch {
    return "down";
  }
}

export async function closeCache(): Promise<void> {
  redis?.disconnect();
  scripts?.disconnect();
}
