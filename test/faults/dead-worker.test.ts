// A worker killed with -9 in the middle of a job: graphile-worker alone keeps its job and that
// customer's whole queue locked for 4 hours. Another worker must unlock them (and only the locks
// of workers that are really gone) so the customer's events converge within seconds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { syncPlanCatalog } from "../../app/server/billing/plans.server";
import { ensureCustomer, LOCAL_WEBHOOK_SECRET, subscribeWithTestCard } from "../../app/server/billing/stripe.server";
import { sql } from "../../app/server/platform/db.server";
import { type StripeLocal, startStripeLocal } from "../../stripe-emulator/index";
import { HOST_KEY, unlockDeadWorkers } from "../../worker/liveness";
import { startApp, type TestApp } from "../app";
import { mirror, newOrg, until } from "../billing";
import { startWorker, type TestWorker } from "../worker";

let app: TestApp;
let local: StripeLocal;
const workers: TestWorker[] = [];

beforeAll(async () => {
  await syncPlanCatalog();
  app = await startApp({ STRIPE_EVENT_MAX_ATTEMPTS: "5" });
  local = await startStripeLocal({
    port: Number(process.env.STRIPE_LOCAL_PORT),
    databaseUrl: process.env.DATABASE_URL!,
    webhook: { url: `${app.url}/api/webhooks/stripe`, secret: LOCAL_WEBHOOK_SECRET },
    retrySchedule: [150, 300, 600],
  });
});

afterAll(async () => {
  for (const w of workers) if (w.proc.exitCode === null) await w.stop();
  await app.stop();
  await local.stop();
});

/** A Stripe that takes requests and never answers: a job calling it stays in flight. */
function silentStripe() {
  let requests = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch: () => {
      requests++;
      return new Promise<Response>(() => {});
    },
  });
  return { port: server.port as number, requests: () => requests, stop: () => server.stop(true) };
}

const lockOfQueue = async (queue: string) =>
  (
    await sql<{ job_locked_by: string | null; queue_locked_by: string | null }[]>`
      select j.locked_by as job_locked_by, q.locked_by as queue_locked_by
        from graphile_worker._private_job_queues q
        left join graphile_worker._private_jobs j on j.job_queue_id = q.id and j.locked_by is not null
       where q.queue_name = ${queue}`
  )[0];

describe("a worker killed with -9 mid-job", () => {
  test("another worker unlocks its job and the customer's queue: the customer's events converge within 30 s", async () => {
    const hanging = silentStripe();
    const doomed = await startWorker({ STRIPE_LOCAL_PORT: String(hanging.port) });
    workers.push(doomed);

    const orgId = await newOrg();
    const { customerId } = await ensureCustomer(orgId);
    const subscriptionId = await subscribeWithTestCard({ orgId, planCode: "starter" });
    const queue = `stripe:${customerId}`;
    // The doomed worker takes one of the customer's events and waits on Stripe forever.
    const held = await until(async () => {
      const lock = await lockOfQueue(queue);
      return hanging.requests() > 0 && lock?.queue_locked_by && lock.job_locked_by === lock.queue_locked_by ? lock : null;
    });
    doomed.proc.kill("SIGKILL");
    await doomed.proc.exited;
    hanging.stop();

    const started = Date.now();
    const survivor = await startWorker();
    workers.push(survivor);
    await until(async () => {
      const [open] = await sql<{ n: number }[]>`
        select count(*)::int as n from stripe_events where customer_id = ${customerId} and processed_at is null`;
      return open.n === 0 && (await mirror(orgId))?.stripe_subscription_id === subscriptionId;
    }, 30_000);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await mirror(orgId)).toMatchObject({ plan_code: "starter", status: "active" });
    // (The survivor may hold the queue now, for a later event: only the dead pool's lock must be gone.)
    expect((await lockOfQueue(queue))?.queue_locked_by).not.toBe(held.queue_locked_by);
    expect((await sql`select 1 from worker_heartbeats where pool_id = ${held.queue_locked_by}`).length).toBe(0);
  }, 60_000);

  test("only the locks of workers that are gone are released; a live worker's locks are kept", async () => {
    const exited = spawn(["true"]);
    await exited.exited;
    // Not this test's own pid: a worker of this file would kill a process on this machine whose pool stops beating.
    const running = spawn(["sleep", "60"]);
    const tag = crypto.randomUUID().slice(0, 8);
    // pool id → its heartbeat: [host key, pid, seconds since its last beat]
    const pools: Record<string, [string, number, number]> = {
      [`pool-silent-${tag}`]: ["another-machine", 4242, 300], // silent for 5 minutes: gone
      [`pool-exited-${tag}`]: [HOST_KEY, exited.pid, 1], // this machine, its process has exited: gone
      [`pool-beating-${tag}`]: ["another-machine", 4242, 20], // beat 20 s ago: alive
      [`pool-running-${tag}`]: [HOST_KEY, running.pid, 1], // this machine, its process runs: alive
    };
    for (const [poolId, [hostKey, pid, age]] of Object.entries(pools)) {
      await sql`insert into worker_heartbeats (pool_id, hostname, host_key, pid, last_seen_at)
                values (${poolId}, 'test', ${hostKey}, ${pid}, now() - make_interval(secs => ${age}))`;
      // Locked as graphile-worker locks a job it runs: the job and its named queue, by pool id.
      // Scheduled an hour ahead so no running worker takes it once unlocked.
      await sql`select graphile_worker.add_job('stripe_event', json_build_object('eventId', 'evt_none'),
                  queue_name := ${`stripe:${poolId}`}, run_at := now() + interval '1 hour', job_key := ${poolId})`;
      await sql`update graphile_worker._private_jobs set locked_by = ${poolId}, locked_at = now(), attempts = 1 where key = ${poolId}`;
      await sql`update graphile_worker._private_job_queues set locked_by = ${poolId}, locked_at = now() where queue_name = ${`stripe:${poolId}`}`;
    }

    await unlockDeadWorkers();

    const state = async (poolId: string) => ({
      lock: await lockOfQueue(`stripe:${poolId}`),
      registered: (await sql`select 1 from worker_heartbeats where pool_id = ${poolId}`).length === 1,
    });
    const gone = { lock: { job_locked_by: null, queue_locked_by: null }, registered: false };
    const alive = (poolId: string) => ({ lock: { job_locked_by: poolId, queue_locked_by: poolId }, registered: true });
    expect(await state(`pool-silent-${tag}`)).toEqual(gone);
    expect(await state(`pool-exited-${tag}`)).toEqual(gone);
    expect(await state(`pool-beating-${tag}`)).toEqual(alive(`pool-beating-${tag}`));
    expect(await state(`pool-running-${tag}`)).toEqual(alive(`pool-running-${tag}`));

    for (const poolId of Object.keys(pools)) {
      await sql`update graphile_worker._private_jobs set locked_by = null, locked_at = null where key = ${poolId}`;
      await sql`select graphile_worker.remove_job(${poolId})`;
      await sql`delete from worker_heartbeats where pool_id = ${poolId}`;
    }
    running.kill();
  });
});
