// Per-key request rate limits on the quota check and the usage record: fixed windows aligned to
// multiples of `windowSeconds` since the epoch. With Redis, one Lua script per request checks and
// counts every limit of the key at once on Redis's clock, so the limit holds across every app
// process and machine. Without Redis (not configured, not connected, or its scripts' breaker open
// after repeated failures), each process enforces its share, floor(limit / APP_PROCESSES) (at
// least 1), on its own counters. A refused request counts no usage and takes no place in a window.
import type { KeyRateLimit } from "../../../db/schema-core";
import { cacheScript } from "../platform/cache.server";
import { config } from "../platform/config.server";
import { AppError } from "../platform/errors.server";

export type { KeyRateLimit };

export class RateLimited extends AppError {
  constructor(d: { limit: number; windowSeconds: number; retryAfterMs: number }) {
    const retryAfterSeconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
    super(
      "RATE_LIMITED",
      `Rate limit reached: this API key may make ${d.limit} requests per ${d.windowSeconds} s. Retry in ${retryAfterSeconds} s; nothing was counted.`,
      { limit: d.limit, windowSeconds: d.windowSeconds, retryAfterSeconds },
      { "Retry-After": String(retryAfterSeconds) },
    );
  }
}

// KEYS[1]: the key's windows, a hash holding per window length its current window's start (ms)
// and count. ARGV: limit, windowSeconds, limit, windowSeconds, … Admits only if every window has
// room, then counts one in each; otherwise counts nothing and answers the exhausted limit's
// position (1-based) and the ms until its window ends.
const WINDOWS_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local starts, counts, longest = {}, {}, 0
for i = 1, #ARGV, 2 do
  local limit, ms, w = tonumber(ARGV[i]), tonumber(ARGV[i + 1]) * 1000, ARGV[i + 1]
  local start = now - (now % ms)
  local s = string.format('%d', start)
  local held = redis.call('HMGET', KEYS[1], w .. ':s', w .. ':n')
  local n = 0
  if held[1] == s then n = tonumber(held[2]) or 0 end
  if n >= limit then return {(i + 1) / 2, start + ms - now} end
  starts[#starts + 1] = s
  counts[#counts + 1] = n + 1
  if ms > longest then longest = ms end
end
for i = 1, #ARGV, 2 do
  local j = (i + 1) / 2
  redis.call('HSET', KEYS[1], ARGV[i + 1] .. ':s', starts[j], ARGV[i + 1] .. ':n', counts[j])
end
redis.call('PEXPIRE', KEYS[1], longest)
return {0, 0}
`;

type LocalWindow = { start: number; count: number };
// Per key and window length, as the Redis hash holds them: a key's windows outlive edits of its limits.
const localWindows = new Map<string, LocalWindow>();

/** This process's share of a limit when Redis is not there to hold it across processes. */
export const localShare = (limit: number, processes = config.APP_PROCESSES) => Math.max(1, Math.floor(limit / processes));

function takeLocally(keyId: string, limits: readonly KeyRateLimit[], now = Date.now()): [number, number] {
  if (localWindows.size > 100_000) localWindows.clear();
  const windows = limits.map((l) => {
    const name = `${keyId}:${l.windowSeconds}`;
    let w = localWindows.get(name);
    if (!w) {
      w = { start: 0, count: 0 };
      localWindows.set(name, w);
    }
    const start = now - (now % (l.windowSeconds * 1000));
    if (w.start !== start) {
      w.start = start;
      w.count = 0;
    }
    return w;
  });
  for (let i = 0; i < limits.length; i++) {
    if (windows[i].count >= localShare(limits[i].limit)) return [i + 1, windows[i].start + limits[i].windowSeconds * 1000 - now];
  }
  for (const w of windows) w.count++;
  return [0, 0];
}

/**
 * Takes one request from every limit of the key, or throws RATE_LIMITED (counting nothing).
 * Called only for keys that carry limits: a key without any never reaches it. A Redis call that
 * failed or timed out may have counted the request there: it is refused (Retry-After 1) rather
 * than admitted twice over; only a Redis that is not there at all hands over to this process.
 */
export async function takeRateLimits(keyId: string, limits: readonly KeyRateLimit[]): Promise<void> {
  const args = limits.flatMap((l) => [l.limit, l.windowSeconds]);
  const held = await cacheScript("keyRateWindows", WINDOWS_LUA, [`rl:${keyId}`], args);
  if (held === "failed") throw new RateLimited({ limit: limits[0].limit, windowSeconds: limits[0].windowSeconds, retryAfterMs: 1000 });
  const [exhausted, retryAfterMs] = held === "unavailable" ? takeLocally(keyId, limits) : (held.value as [number, number]);
  if (exhausted === 0) return;
  const limit = limits[exhausted - 1];
  throw new RateLimited({ limit: limit.limit, windowSeconds: limit.windowSeconds, retryAfterMs });
}
