// Optional Redis read-through cache (REDIS_URL). Every call degrades to "miss" within a short
// timeout when Redis is absent, down or slow: no caller ever fails or waits because of Redis.
// A Redis that keeps timing out (paused, overloaded) opens the cache breaker: then the cache is
// skipped without a call, so a sick Redis costs nothing, until a ping answers again.
import Redis from "ioredis";
import { createBreaker } from "./breaker.server";
import { config } from "./config.server";
import { log } from "./log.server";

const redis = config.REDIS_URL
  ? new Redis(config.REDIS_URL, {
      enableOfflineQueue: false, // fail at once while disconnected instead of queueing
      maxRetriesPerRequest: 0,
      commandTimeout: 50,
      connectTimeout: 500,
      retryStrategy: (times) => Math.min(times * 250, 2000),
      keyPrefix: config.REDIS_PREFIX,
      lazyConnect: false,
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

/**
 * Runs a Lua script (one atomic operation in Redis) on `keys` (prefixed like every key) and
 * `args`; null when Redis is absent, down, slow or its breaker is open, so the caller decides
 * what holds without it. Defined once per name (EVALSHA, with EVAL when the script is unknown).
 */
export async function cacheScript(name: string, lua: string, keys: string[], args: (string | number)[]): Promise<unknown> {
  if (!usable()) return null;
  if (!defined.has(name)) {
    redis!.defineCommand(name, { numberOfKeys: keys.length, lua });
    defined.add(name);
  }
  const run = (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[name];
  return run.call(redis, ...keys, ...args).then(succeeded, failed);
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
}
