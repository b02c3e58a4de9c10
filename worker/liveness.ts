// Which worker processes are alive, and unlocking the jobs of those that are gone. graphile-worker
// locks a job (and its named queue) with its pool's id; when the process dies (kill -9, OOM, a lost
// machine) the lock stays for 4 hours and that customer's whole webhook queue waits. So every
// worker records its pool id with a heartbeat, and on start and every second unlocks the pools
// that are gone with graphile-worker's own `force_unlock_workers`. A pool is gone when its process
// no longer exists on this machine, or when it has been silent for SILENT_AFTER_S seconds; a live
// pool's locks are never touched. A process on this machine that still exists but stopped beating
// (frozen by SIGSTOP, its event loop stuck) is killed first (SIGKILL), so it cannot wake up and
// carry on with a job that was handed to another worker; then its locks are a gone process's.
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import type {} from "graphile-worker";
import postgres from "postgres";
import { config } from "../app/server/platform/config.server";
import { sql } from "../app/server/platform/db.server";
import { log } from "../app/server/platform/log.server";

export const HEARTBEAT_MS = 1_000;
/**
 * Beats of our own during which a pool on this machine did not beat once: then it is frozen. Counted
 * in our beats, not in wall time, so a pause of Postgres (or of this worker) never looks like one.
 */
export const STALLED_AFTER_BEATS = 5;
/** Thirty missed heartbeats: a pool on another machine (which cannot be killed from here) is gone. */
export const SILENT_AFTER_S = 30;

// The heartbeat has a connection of its own: jobs queueing on the shared pool never delay it, so a
// missing beat means the process stopped, not that it was busy.
const beats = postgres(config.DATABASE_URL, { max: 1, onnotice: () => {}, connection: { application_name: "metered-worker-liveness" } });

/** The machine (this boot of it) and pid namespace we run in: where a row's pid can be checked. */
function hostKeyOf(): string {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    return `${boot}/${readlinkSync("/proc/self/ns/pid")}`;
  } catch {
    return `host:${hostname()}`;
  }
}
export const HOST_KEY = hostKeyOf();

/** True only when the process certainly does not exist (or is a zombie): never guessed. */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
  try {
    // "pid (comm) S ..." — a zombie has exited; only its exit status is left to collect.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

const ownPools = new Map<string, Promise<void>>();

async function beat(poolId: string): Promise<void> {
  await beats`
    insert into worker_heartbeats (pool_id, hostname, host_key, pid)
    values (${poolId}, ${hostname()}, ${HOST_KEY}, ${process.pid})
    on conflict (pool_id) do update set last_seen_at = now()`;
}

/**
 * Records a pool before any of its workers takes a job (graphile-worker awaits `startWorker`
 * before the first fetch), so every lock it ever takes can be traced to it. Retries until the
 * database answers: without it the pool could not take jobs anyway.
 */
export function registerPool(poolId: string): Promise<void> {
  let registered = ownPools.get(poolId);
  if (!registered) {
    registered = (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await beat(poolId);
        } catch (err) {
          if (attempt === 1) log.warn({ err, poolId }, "could not register the worker pool; retrying every second");
          await Bun.sleep(1000);
        }
      }
    })();
    ownPools.set(poolId, registered);
  }
  return registered;
}

/** The graphile-worker plugin that registers this process's pool. */
export const livenessPlugin: GraphileConfig.Plugin = {
  name: "MeteredWorkerLiveness",
  version: "1.0.0",
  worker: { hooks: { startWorker: (_ctx, { worker }) => registerPool(worker.workerPool.id) } },
};

/** Unlocks the jobs and queues of every pool that is gone; returns which, and how many jobs. */
export async function unlockDeadWorkers(): Promise<{ pools: string[]; jobs: number }> {
  const rows = await sql<{ pool_id: string; host_key: string; pid: number; silent: boolean }[]>`
    select pool_id, host_key, pid, last_seen_at < now() - make_interval(secs => ${SILENT_AFTER_S}) as silent
      from worker_heartbeats`;
  const others = rows.filter((r) => !ownPools.has(r.pool_id));
  const exited = others.filter((r) => r.host_key === HOST_KEY && processGone(r.pid)).map((r) => r.pool_id);
  const candidates = others.filter((r) => r.silent || exited.includes(r.pool_id)).map((r) => r.pool_id);
  if (candidates.length === 0) return { pools: [], jobs: 0 };
  return sql.begin(async (tx) => {
    // Decided again on the rows themselves: a pool that beat since the read above stays alive.
    const dead = await tx<{ pool_id: string }[]>`
      delete from worker_heartbeats
       where pool_id = any(${candidates}::text[])
         and (pool_id = any(${exited}::text[]) or last_seen_at < now() - make_interval(secs => ${SILENT_AFTER_S}))
      returning pool_id`;
    const pools = dead.map((d) => d.pool_id);
    if (pools.length === 0) return { pools, jobs: 0 };
    const [held] = await tx<{ jobs: number }[]>`
      select count(*)::int as jobs from graphile_worker._private_jobs where locked_by = any(${pools}::text[])`;
    await tx`select graphile_worker.force_unlock_workers(${pools}::text[])`;
    return { pools, jobs: held.jobs };
  });
}

/** When a process started (ms since the epoch, to 10 ms), from /proc; null if unknown. */
function processStartedAt(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const startTicks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]); // field 22: starttime, in clock ticks (100/s) since boot
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    return Number.isFinite(startTicks) && Number.isFinite(bootSeconds) ? bootSeconds * 1000 + startTicks * 10 : null;
  } catch {
    return null;
  }
}

// What this worker last saw of each other pool on this machine: its last beat, and at which of our
// beats that changed.
const seen = new Map<string, { lastSeen: number; atBeat: number }>();
let ourBeats = 0;

/**
 * Kills (SIGKILL) the process of each pool on this machine whose heartbeat has not moved during
 * STALLED_AFTER_BEATS of our own: frozen or stuck, it holds its jobs and its customers' queues. Only
 * a process that was already running when its pool registered (a pid reused since is left alone).
 */
export async function killStalledWorkers(): Promise<string[]> {
  ourBeats++;
  const rows = await sql<{ pool_id: string; pid: number; last_seen: number; started: number }[]>`
    select pool_id, pid, (extract(epoch from last_seen_at) * 1000)::float8 as last_seen, (extract(epoch from started_at) * 1000)::float8 as started
      from worker_heartbeats where host_key = ${HOST_KEY}`;
  const killed: string[] = [];
  for (const r of rows) {
    if (ownPools.has(r.pool_id) || r.pid === process.pid) continue;
    const was = seen.get(r.pool_id);
    if (!was || was.lastSeen !== r.last_seen) {
      seen.set(r.pool_id, { lastSeen: r.last_seen, atBeat: ourBeats });
      continue;
    }
    if (ourBeats - was.atBeat < STALLED_AFTER_BEATS) continue;
    seen.delete(r.pool_id);
    const startedAt = processStartedAt(r.pid);
    if (startedAt === null || startedAt > r.started + 1000) continue;
    try {
      process.kill(r.pid, "SIGKILL");
      killed.push(r.pool_id);
    } catch (err) {
      log.warn({ err, poolId: r.pool_id, pid: r.pid }, "could not kill a worker that stopped beating; its locks wait until it is silent for 30 s");
    }
  }
  const present = new Set(rows.map((r) => r.pool_id));
  for (const poolId of seen.keys()) if (!present.has(poolId)) seen.delete(poolId);
  if (killed.length > 0) {
    log.warn({ pools: killed, beatsMissed: STALLED_AFTER_BEATS }, "killed workers on this machine that stopped beating (frozen or stuck)");
    // A killed process is gone once the kernel has taken it down (a zombie counts as gone).
    for (let i = 0; i < 50 && rows.some((r) => killed.includes(r.pool_id) && !processGone(r.pid)); i++) await Bun.sleep(20);
  }
  return killed;
}

async function unlockAndLog(): Promise<void> {
  const { pools, jobs } = await unlockDeadWorkers();
  if (pools.length > 0) log.warn({ pools, jobs }, "unlocked the jobs and queues of workers that are gone");
}

/**
 * On start: unlock what dead workers hold. Then every HEARTBEAT_MS: beat for this process's
 * pools, kill the frozen ones on this machine, and unlock again. `stop()` ends the loop and
 * forgets this process's pools (call it after graphile-worker has released its own locks).
 */
export async function startLiveness(): Promise<{ stop: () => Promise<void> }> {
  await unlockAndLog();
  let failing = false;
  let ticking = false;
  const tick = async () => {
    // One tick at a time: a slow Postgres must not make our beats count faster than theirs.
    if (ticking) return;
    ticking = true;
    try {
      for (const poolId of ownPools.keys()) await beat(poolId);
      await killStalledWorkers();
      await unlockAndLog();
      if (failing) log.info("worker heartbeat restored");
      failing = false;
    } catch (err) {
      // Logged once per outage; the next tick tries again. What was seen of the others is
      // forgotten: their beats failed too, and must not count as missed.
      seen.clear();
      if (!failing) log.warn({ err }, "worker heartbeat failed; retrying");
      failing = true;
    } finally {
      ticking = false;
    }
  };
  const timer = setInterval(() => void tick(), HEARTBEAT_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      const pools = [...ownPools.keys()];
      ownPools.clear();
      await sql`delete from worker_heartbeats where pool_id = any(${pools}::text[])`;
      await beats.end({ timeout: 1 });
    },
  };
}
