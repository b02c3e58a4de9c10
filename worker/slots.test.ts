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

/** A healthy org's test delivery, from the send until its receiver has it (ms). */
async function healthyDelivery(): Promise<number> {
  const other = await orgWithKey();
  let secret = "";
  const receiver = startWebhookReceiver(() => secret);
  try {
    const endpoint = await createEndpoint({ orgId: other.orgId, actor: "dev@example.com", requestId: null, url: receiver.url, eventTypes: ["invoice.paid"] });
    secret = endpoint.secret;
    await sendTestEvent({ orgId: other.orgId, actor: "dev@example.com", requestId: null, id: endpoint.id });
    const ms = await msUntil(async () => receiver.received.length === 1, 15_000);
    expect(receiver.received[0]?.verified).toBe(true);
    return ms;
  } finally {
    receiver.stop();
  }
}

describe("worker slots", () => {
  test("receivers that never answer hold neither the core's slots nor, once failing, more than a lane", async () => {
    const attacker = await orgWithKey();
    const actor = { orgId: attacker.orgId, actor: "ops@example.com", requestId: null };
    const endpoints = [];
    for (let i = 0; i < 4; i++) endpoints.push(await createEndpoint({ ...actor, url: silentUrl, eventTypes: ["invoice.paid"] }));
    // Four attempts that will hang for the whole timeout (10 s): as many slots as the core has.
    for (const endpoint of endpoints) await sendTestEvent({ ...actor, id: endpoint.id });
    await until(async () => sockets.length >= 4);

    // Meanwhile a core job (the SLO watch, on the slots Stripe's convergence and the usage report
    // use) runs at once, and so does another org's delivery.
    await sql`select graphile_worker.add_job('slo_watch', '{}'::json, job_key := 'slots-test')`;
    expect(await msUntil(async () => (await sql`select 1 from graphile_worker.jobs where key = 'slots-test'`).length === 0, 15_000)).toBeLessThan(3000);
    expect(await healthyDelivery()).toBeLessThan(3000);

    // Once the attempts time out the endpoints are failing: 24 more sends (a person's, first in
    // line) wait in the org's one lane, one at a time, and a healthy delivery still goes at once.
    await until(async () => (await sql`select 1 from webhook_endpoints where org_id = ${attacker.orgId} and failing_since is not null`).length === 4, 20_000);
    const before = sockets.length;
    for (let round = 0; round < 6; round++) for (const endpoint of endpoints) await sendTestEvent({ ...actor, id: endpoint.id });
    const lanes = await sql<{ queue_name: string | null; priority: number }[]>`
      select job.queue_name, job.priority
        from graphile_worker.jobs job
        join webhook_deliveries delivery on job.key = 'delivery:' || delivery.id
       where delivery.org_id = ${attacker.orgId}`;
    expect(lanes.length).toBe(28);
    expect(new Set(lanes.map((j) => j.queue_name)).size).toBe(1);
    expect(lanes[0].queue_name).toStartWith("webhooks-failing:");
    // The 24 sends at priority 0; the four first deliveries' retries behind them (FAILING_PRIORITY).
    expect(lanes.filter((j) => j.priority === FAILING_PRIORITY).length).toBe(4);
    expect(await healthyDelivery()).toBeLessThan(3000);
    // One of the 24 in flight at a time (outside a lane, 20 would be).
    await Bun.sleep(1500);
    expect(sockets.length - before).toBeLessThanOrEqual(1);
  }, 60_000);
});
