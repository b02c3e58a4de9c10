// Optional Redis read-through cache (REDIS_URL). Every call degrades to "miss" within a short
// timeout when Redis is absent, down or slow: no caller ever fails or waits because of Redis.
import Redis from "ioredis";
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

const usable = () => redis !== null && redis.status === "ready";

export async function cacheGet(key: string): Promise<string | null> {
  if (!usable()) return null;
  try {
    return await redis!.get(key);
  } catch {
    return null;
  }
}

export function cacheSet(key: string, value: string, ttlMs: number): void {
  if (!usable()) return;
  redis!.set(key, value, "PX", ttlMs).catch(() => {});
}

export async function cacheDel(...keys: string[]): Promise<void> {
  if (!usable() || keys.length === 0) return;
  try {
    await redis!.del(...keys);
  } catch {
    // The entry expires by itself within its short TTL.
  }
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
