// Which worker processes are alive, and unlocking the jobs of those that are gone. graphile-worker
// locks a job (and its named queue) with its pool's id; when the process dies (kill -9, OOM, a lost
// machine) the lock stays for 4 hours and that customer's whole webhook queue waits. So every
// worker records its pool id with a heartbeat, and on start and every few seconds unlocks the
// pools that are gone with graphile-worker's own `force_unlock_workers`. A pool is gone when its
// process no longer exists on this machine, or when it has been silent for SILENT_AFTER_S
// seconds; a live pool's locks are never touched.
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import type {} from "graphile-worker";
import { sql } from "../app/server/platform/db.server";
import { log } from "../app/server/platform/log.server";

export const HEARTBEAT_MS = 5_000;
/** Six missed heartbeats: long enough that a busy or briefly disconnected worker is not "gone". */
export const SILENT_AFTER_S = 30;

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
  await sql`
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

async function unlockAndLog(): Promise<void> {
  const { pools, jobs } = await unlockDeadWorkers();
  if (pools.length > 0) log.warn({ pools, jobs }, "unlocked the jobs and queues of workers that are gone");
}

/**
 * On start: unlock what dead workers hold. Then every HEARTBEAT_MS: beat for this process's
 * pools and unlock again. `stop()` ends the loop and forgets this process's pools (call it after
 * graphile-worker has released its own locks).
 */
export async function startLiveness(): Promise<{ stop: () => Promise<void> }> {
  await unlockAndLog();
  let failing = false;
  const tick = async () => {
    try {
      for (const poolId of ownPools.keys()) await beat(poolId);
      await unlockAndLog();
      if (failing) log.info("worker heartbeat restored");
      failing = false;
    } catch (err) {
      // Logged once per outage; the next tick tries again.
      if (!failing) log.warn({ err }, "worker heartbeat failed; retrying");
      failing = true;
    }
  };
  const timer = setInterval(() => void tick(), HEARTBEAT_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      const pools = [...ownPools.keys()];
      ownPools.clear();
      await sql`delete from worker_heartbeats where pool_id = any(${pools}::text[])`;
    },
  };
}
