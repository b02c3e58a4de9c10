// The worker's slots under receivers that never answer: the real worker process, an org whose
// webhook endpoints accept connections and never reply, and what else must still run at once
// (another org's webhooks, the core jobs behind Stripe's convergence).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { FAILING_PRIORITY } from "../app/server/notify/deliver.server";
import { createEndpoint, sendTestEvent } from "../app/server/notify/endpoints.server";
import { sql } from "../app/server/platform/db.server";
import { until } from "../test/billing";
import { orgWithKey } from "../test/factories";
import { startWebhookReceiver } from "../test/notify";
import { startWorker, type TestWorker } from "../test/worker";

let worker: TestWorker;
let silent: net.Server;
let silentUrl = "";
const sockets: net.Socket[] = [];
beforeAll(async () => {
  // Accepts every connection and never answers: each attempt holds its slot for the whole timeout (10 s).
  silent = net.createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}/hooks`;
  worker = await startWorker();
});
afterAll(async () => {
  await worker?.stop();
  for (const socket of sockets) socket.destroy();
  silent?.close();
});

/** Milliseconds until `done` holds (polled), at most `within`. */
async function msUntil(done: () => Promise<boolean>, within: number): Promise<number> {
  const started = Date.now();
  while (!(await done()) && Date.now() - started < within) await Bun.sleep(25);
  return Date.now() - started;
}

describe("worker slots", () => {
  test("receivers that never answer hold one slot per endpoint, then one per org, never the others' or the core's", async () => {
    const attacker = await orgWithKey();
    const actor = { orgId: attacker.orgId, actor: "ops@example.com", requestId: null };
    const endpoints = [];
    for (let i = 0; i < 4; i++) endpoints.push(await createEndpoint({ ...actor, url: silentUrl, eventTypes: ["invoice.paid"] }));
    // 24 deliveries at once: more than the worker's outbound slots, six per silent endpoint.
    for (let round = 0; round < 6; round++) for (const endpoint of endpoints) await sendTestEvent({ ...actor, id: endpoint.id });
    await until(async () => sockets.length >= 4);

    // Another org's delivery goes out at once, beside them.
    const other = await orgWithKey();
    let secret = "";
    const receiver = startWebhookReceiver(() => secret);
    try {
      const endpoint = await createEndpoint({ orgId: other.orgId, actor: "dev@example.com", requestId: null, url: receiver.url, eventTypes: ["invoice.paid"] });
      secret = endpoint.secret;
      await sendTestEvent({ orgId: other.orgId, actor: "dev@example.com", requestId: null, id: endpoint.id });
      expect(await msUntil(async () => receiver.received.length === 1, 15_000)).toBeLessThan(3000);
      expect(receiver.received[0].verified).toBe(true);
    } finally {
      receiver.stop();
    }
    // A core job (the SLO watch, on the slots Stripe's convergence and the usage report use) too.
    await sql`select graphile_worker.add_job('slo_watch', '{}'::json, job_key := 'slots-test')`;
    expect(await msUntil(async () => (await sql`select 1 from graphile_worker.jobs where key = 'slots-test'`).length === 0, 15_000)).toBeLessThan(3000);
    // One attempt per silent endpoint at a time: four connections, not 24.
    expect(sockets.length).toBe(4);

    // Once their first attempts time out, the endpoints are failing: every delivery to them waits
    // in the org's one queue for failing endpoints, behind healthy deliveries.
    const queued = await until(async () => {
      const jobs = await sql<{ queue_name: string; priority: number }[]>`
          select job.queue_name, job.priority
            from graphile_worker.jobs job
            join webhook_deliveries delivery on job.key = 'delivery:' || delivery.id
           where delivery.org_id = ${attacker.orgId}`;
      return jobs.length === 24 && jobs.every((j) => j.priority === FAILING_PRIORITY) && jobs;
    }, 20_000);
    expect(new Set(queued.map((j) => j.queue_name))).toEqual(new Set([`webhooks-failing:${attacker.orgId}`]));
    // In that queue they run one at a time: at most one more connection at any moment.
    await Bun.sleep(1500);
    expect(sockets.length).toBeLessThanOrEqual(5);
  }, 60_000);
});
