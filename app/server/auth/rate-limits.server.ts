// Per-key request rate limits on the quota check and the usage record: fixed windows aligned to
// multiples of `windowSeconds` since the epoch. With Redis, each process takes admissions ahead
// in leases, counted in every window of the key at once by one Lua script on Redis's clock, so the
// limit holds across every app process and machine, and a busy key costs one Redis call per lease
// rather than per request (issue 25's bar: a limited key at most 10% slower). Without Redis (not configured, not connected, or its scripts' breaker open
// after repeated failures), each process enforces its share, floor(limit / APP_PROCESSES) (at
// least 1), on its own counters. A refused request counts no usage and takes no place in a window.
import type { KeyRateLimit } from "../../../db/schema-core";
import { cacheScript, scriptsConnected } from "../platform/cache.server";
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
// and count. ARGV[1]: the admissions wanted (0: only give back), ARGV[2]: the divisor of a
// window's room (2 × APP_PROCESSES), ARGV[3]: unused admissions given back, then per limit:
// limit, windowSeconds, and the window start the given-back ones were taken in ('' for none).
// The given-back ones leave the windows still open; then it grants every window the same count,
// at most what was wanted and each window's room divided by the divisor (at least 1), or nothing
// when a window is full. Answers {granted, ms until the shortest window ends, the full window's
// position (1-based, 0 for none) and ms until it ends, ms until the last window ends, the starts...}.
const LEASE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local want, share, back = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local grant, shortest, longest, latest, full, fullMs = want, nil, 0, 0, 0, 0
local starts, counts, names = {}, {}, {}
local j = 0
for i = 4, #ARGV, 3 do
  j = j + 1
  local limit, w, from = tonumber(ARGV[i]), ARGV[i + 1], ARGV[i + 2]
  local ms = tonumber(w) * 1000
  local start = now - (now % ms)
  local s = string.format('%d', start)
  local held = redis.call('HMGET', KEYS[1], w .. ':s', w .. ':n')
  local n = 0
  if held[1] == s then n = tonumber(held[2]) or 0 end
  if back > 0 and from == s then n = math.max(0, n - back) end
  starts[j], counts[j], names[j] = s, n, w
  local left = start + ms - now
  if shortest == nil or left < shortest then shortest = left end
  if left > latest then latest = left end
  if ms > longest then longest = ms end
  local room = limit - n
  if room <= 0 then
    -- Of several full windows, the one that ends last: no request passes before it ends.
    if want > 0 and (full == 0 or left > fullMs) then full, fullMs = j, left end
    grant = 0
  else
    grant = math.min(grant, math.max(1, math.ceil(room / share)))
  end
end
if grant > 0 or back > 0 then
  for k = 1, j do
    redis.call('HSET', KEYS[1], names[k] .. ':s', starts[k], names[k] .. ':n', counts[k] + grant)
  end
  -- Only ever lengthened: limits edited to shorter windows must not drop a longer window's count.
  if redis.call('PTTL', KEYS[1]) < longest then redis.call('PEXPIRE', KEYS[1], longest) end
end
local out = {grant, shortest, full, fullMs, latest}
for k = 1, j do out[#out + 1] = starts[k] end
return out
`;

// ---- leases ------------------------------------------------------------------------------------

/** The longest a lease is held: what a process whose traffic stops can keep from the others. */
const LEASE_MAX_MS = 1000;

/**
 * A process's admissions for one key, taken from Redis ahead (counted there): handed out one per
 * request until used up or the lease ends, then the unused ones are given back.
 */
type Lease = {
  limits: string; // the limits it was taken under
  tokens: number; // admissions left to hand out
  until: number; // local ms: ends before the shortest window ends or LEASE_MAX_MS after it was asked for
  openUntil: number; // local ms: the longest window's end, while given-back ones still count
  starts: string[]; // per limit, the window start it was taken in
  granted: number; // the last grant's size
  refusedUntil: number; // local ms: a full window, known without asking again (at most LEASE_MAX_MS)
  refusal: { index: number; endsAt: number } | null;
  pending: Promise<Renewal> | null;
  waiting: number;
  seenAt: number;
};
type Renewal = "leased" | "refused" | "failed" | "unavailable";

const leases = new Map<string, Lease>();
const limitsKey = (limits: readonly KeyRateLimit[]) => limits.map((l) => `${l.limit}/${l.windowSeconds}`).join(",");

/** Asks Redis for the next lease, giving back what the last one did not use. */
async function renew(keyId: string, limits: readonly KeyRateLimit[], lease: Lease, want: number): Promise<Renewal> {
  const back = lease.tokens;
  lease.tokens = 0;
  const args = [want, 2 * config.APP_PROCESSES, back, ...limits.flatMap((l, i) => [l.limit, l.windowSeconds, back > 0 ? (lease.starts[i] ?? "") : ""])];
  const askedAt = Date.now();
  const held = await cacheScript("keyRateLease", LEASE_LUA, [`rl:${keyId}`], args);
  if (held === "failed" || held === "unavailable") return held;
  const [granted, shortestMs, full, fullMs, latestMs, ...starts] = held.value as [number, number, number, number, number, ...string[]];
  lease.starts = starts;
  lease.openUntil = askedAt + latestMs;
  if (full > 0) {
    lease.refusal = { index: full - 1, endsAt: askedAt + fullMs };
    lease.refusedUntil = askedAt + Math.min(fullMs, LEASE_MAX_MS);
    return "refused";
  }
  if (want === 0) return "leased";
  lease.tokens = granted;
  lease.granted = granted;
  // Measured from before the call: the lease never outlives the window it was counted in.
  lease.until = askedAt + Math.min(shortestMs, LEASE_MAX_MS);
  return "leased";
}

/**
 * How many to ask for: twice a lease used up before it ended, what was used of one that ended
 * (so a key that went quiet asks for little), and at least one per waiting request.
 */
function wanted(lease: Lease, now: number): number {
  const next = now < lease.until ? 2 * lease.granted : lease.granted - lease.tokens;
  return Math.max(1, next, lease.waiting + 1);
}

// Gives back the unused admissions of ended leases while a window they were counted in is open,
// and forgets keys not used for a while.
const sweeper = setInterval(() => {
  const now = Date.now();
  for (const [keyId, lease] of leases) {
    if (lease.pending) continue;
    if (lease.tokens > 0 && lease.until <= now && lease.openUntil > now) void renewUnused(keyId, lease);
    else if (lease.seenAt < now - 600_000) leases.delete(keyId);
  }
}, LEASE_MAX_MS);
sweeper.unref?.();

function renewUnused(keyId: string, lease: Lease) {
  const limits = lease.limits.split(",").map((l) => {
    const [limit, windowSeconds] = l.split("/").map(Number);
    return { limit, windowSeconds };
  });
  // Nobody awaits a give-back: a call that threw is a failed one (its admissions lapse with their windows).
  lease.pending = renew(keyId, limits, lease, 0)
    .catch((): Renewal => "failed")
    .finally(() => {
      lease.pending = null;
    });
}

function refusal(limits: readonly KeyRateLimit[], lease: Lease, now: number): RateLimited {
  const limit = limits[lease.refusal!.index] ?? limits[0];
  return new RateLimited({ limit: limit.limit, windowSeconds: limit.windowSeconds, retryAfterMs: lease.refusal!.endsAt - now });
}

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
  // Of several full windows, the one that ends last: no request passes before it ends.
  let full: [number, number] = [0, 0];
  for (let i = 0; i < limits.length; i++) {
    const left = windows[i].start + limits[i].windowSeconds * 1000 - now;
    if (windows[i].count >= localShare(limits[i].limit) && left > full[1]) full = [i + 1, left];
  }
  if (full[0] > 0) return full;
  for (const w of windows) w.count++;
  return [0, 0];
}

/**
 * Takes one request from every limit of the key, or throws RATE_LIMITED (counting nothing).
 * Called only for keys that carry limits: a key without any never reaches it. With Redis the
 * request is served from this process's lease when it has one, else it asks Redis (one call for
 * every request waiting on it). A Redis call that failed or timed out may have counted the lease:
 * its requests are refused (Retry-After 1) rather than admitted twice over; only a Redis that is
 * not there at all hands over to this process's share.
 */
export async function takeRateLimits(keyId: string, limits: readonly KeyRateLimit[]): Promise<void> {
  if (!scriptsConnected()) return takeShare(keyId, limits);
  const sig = limitsKey(limits);
  let lease = leases.get(keyId);
  if (!lease || lease.limits !== sig) {
    // Limits edited: a new lease under the new ones (the old one's unused ones lapse with it).
    lease = { limits: sig, tokens: 0, until: 0, openUntil: 0, starts: [], granted: 0, refusedUntil: 0, refusal: null, pending: null, waiting: 0, seenAt: 0 };
    if (leases.size > 100_000) leases.clear();
    leases.set(keyId, lease);
  }
  for (;;) {
    const now = Date.now();
    lease.seenAt = now;
    if (lease.refusedUntil > now) throw refusal(limits, lease, now);
    if (lease.tokens > 0 && now < lease.until) {
      lease.tokens--;
      return;
    }
    let outcome: Renewal;
    if (lease.pending) {
      lease.waiting++;
      try {
        outcome = await lease.pending;
      } finally {
        lease.waiting--;
      }
    } else {
      const current = lease;
      current.pending = renew(keyId, limits, current, wanted(current, now)).finally(() => {
        current.pending = null;
      });
      outcome = await current.pending;
    }
    if (outcome === "failed") throw new RateLimited({ limit: limits[0].limit, windowSeconds: limits[0].windowSeconds, retryAfterMs: 1000 });
    if (outcome === "unavailable") return takeShare(keyId, limits);
  }
}

/** Without Redis: one request from this process's share of every limit, or RATE_LIMITED. */
function takeShare(keyId: string, limits: readonly KeyRateLimit[]): void {
  const [exhausted, retryAfterMs] = takeLocally(keyId, limits);
  if (exhausted === 0) return;
  const limit = limits[exhausted - 1];
  throw new RateLimited({ limit: limit.limit, windowSeconds: limit.windowSeconds, retryAfterMs });
}
