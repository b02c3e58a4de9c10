// A worker frozen (SIGSTOP) in the middle of a job of queue stripe:<customer>: its process still
// exists, so it is not "gone", and its locks used to wait until it had been silent for 30 s. A
// worker on the same machine now sees it stop beating (five of its own one-second beats), kills it
// (so it cannot wake up and carry on with the handed-over job) and unlocks its job and queue: the
// customer's events converge within seconds. A process that keeps beating is never touched.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { syncPlanCatalog } from "../../app/server/billing/plans.server";
import { ensureCustomer, LOCAL_WEBHOOK_SECRET, subscribeWithTestCard } from "../../app/server/billing/stripe.server";
import { sql } from "../../app/server/platform/db.server";
import { type StripeLocal, startStripeLocal } from "../../stripe-emulator/index";
import { HOST_KEY } from "../../worker/liveness";
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
  // A stopped process ignores SIGTERM until continued: kill what is left outright.
  for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill("SIGKILL");
  await Promise.all(workers.map((w) => w.proc.exited));
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

describe("a worker frozen mid-job", () => {
  test("a worker on the same machine kills it and unlocks its customer's queue: the events converge within 12 s, not 30", async () => {
    const hanging = silentStripe();
    const frozen = await startWorker({ STRIPE_LOCAL_PORT: String(hanging.port) });
    workers.push(frozen);
    const orgId = await newOrg();
    const { customerId } = await ensureCustomer(orgId);
    const queue = `stripe:${customerId}`;
    const subscriptionId = await subscribeWithTestCard({ orgId, planCode: "starter" });
    // It takes one of the customer's events and waits on Stripe, holding the customer's queue.
    const held = await until(async () => {
      const lock = await lockOfQueue(queue);
      return hanging.requests() > 0 && lock?.queue_locked_by && lock.job_locked_by === lock.queue_locked_by ? lock : null;
    });
    const survivor = await startWorker();
    workers.push(survivor);
    frozen.proc.kill("SIGSTOP");
    const started = Date.now();

    await until(async () => {
      const [open] = await sql<{ n: number }[]>`
        select count(*)::int as n from stripe_events where customer_id = ${customerId} and processed_at is null`;
      return open.n === 0 && (await mirror(orgId))?.stripe_subscription_id === subscriptionId;
    }, 30_000);
    const tookMs = Date.now() - started;
    hanging.stop();
    expect(tookMs).toBeLessThan(12_000);
    expect(await mirror(orgId)).toMatchObject({ plan_code: "starter", status: "active" });
    // Killed, not merely unlocked: it can never wake up and finish the job it held.
    await frozen.proc.exited;
    expect(frozen.proc.signalCode).toBe("SIGKILL");
    expect((await lockOfQueue(queue))?.queue_locked_by).not.toBe(held.queue_locked_by);
    expect(await sql`select 1 from worker_heartbeats where pool_id = ${held.queue_locked_by}`).toHaveLength(0);
    expect(survivor.logs.some((l) => l.includes("killed workers on this machine that stopped beating"))).toBe(true);
  }, 60_000);

  test("a process whose pool keeps beating is left alone; one whose pool stops is killed", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const beating = spawn(["sleep", "60"]);
    const stopped = spawn(["sleep", "60"]);
    const pools = { [`pool-beating-${tag}`]: beating.pid, [`pool-stopped-${tag}`]: stopped.pid };
    for (const [poolId, pid] of Object.entries(pools)) {
      await sql`insert into worker_heartbeats (pool_id, hostname, host_key, pid) values (${poolId}, 'test', ${HOST_KEY}, ${pid})`;
    }
    // Beats for one of them every half second, for longer than it takes to call a pool frozen.
    const until8s = Date.now() + 8000;
    while (Date.now() < until8s) {
      await sql`update worker_heartbeats set last_seen_at = now() where pool_id = ${`pool-beating-${tag}`}`;
      await Bun.sleep(500);
    }
    expect(beating.exitCode).toBeNull();
    expect(beating.signalCode).toBeNull();
    await stopped.exited;
    expect(stopped.signalCode).toBe("SIGKILL");
    beating.kill();
    await sql`delete from worker_heartbeats where pool_id = any(${Object.keys(pools)}::text[])`;
  }, 30_000);
});
