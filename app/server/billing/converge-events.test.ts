// A storm of webhooks, against the real app, worker, local Stripe and Postgres: each customer's
// waiting events converge together (one read of each object, in arrival order, to Stripe's current
// state), an event that cannot converge fails only its own job, and concurrent deliveries of one
// event id, to two app processes at once, store it once and enqueue one job.
import { afterAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import type { Exchange } from "../../../stripe-emulator/index";
import { startApp } from "../../../test/app";
import { billingSettled, newOrg, startBillingSystem, until } from "../../../test/billing";
import { startWorker, type TestWorker } from "../../../test/worker";
import { subscribeThroughStripe } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";
import { LOCAL_WEBHOOK_SECRET, stripe } from "./stripe.server";
import { STRIPE_WEBHOOK_PATH } from "./webhook-events.server";

const reads: Exchange[] = [];
const system = startBillingSystem({}, { record: (x) => x.method === "GET" && reads.push(x) });
// The tests stop the worker to let events wait, then start one of their own.
let worker: TestWorker | null = null;
async function restartWorker(): Promise<void> {
  await (worker ?? system.worker).stop();
  worker = await startWorker(system.env);
}
async function stopWorker(): Promise<void> {
  await (worker ?? system.worker).stop();
  worker = null;
}
afterAll(async () => {
  await worker?.stop();
});

const signer = new Stripe("sk_test_unused");
let n = 0;
/** A signed event about `object` (Stripe's current object), as Stripe would send it. */
async function signed(type: string, object: { id: string }) {
  const body = JSON.stringify({
    id: `evt_storm_${Date.now().toString(36)}_${n++}`,
    object: "event",
    api_version: Stripe.API_VERSION,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  });
  return { body, signature: await signer.webhooks.generateTestHeaderStringAsync({ payload: body, secret: LOCAL_WEBHOOK_SECRET }) };
}

async function deliver(url: string, event: { body: string; signature: string }) {
  const r = await fetch(`${url}${STRIPE_WEBHOOK_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": event.signature },
    body: event.body,
  });
  return { status: r.status, body: (await r.json()) as { data?: { eventId: string; duplicate: boolean } } };
}

/** Sends every event, `width` at a time. */
async function storm(url: string, events: { body: string; signature: string }[], width = 8) {
  let next = 0;
  const answers: Awaited<ReturnType<typeof deliver>>[] = [];
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < events.length) answers.push(await deliver(url, events[next++]));
    }),
  );
  return answers;
}

const pendingEvents = async () => (await sql<{ n: number }[]>`select count(*)::int as n from stripe_events where processed_at is null`)[0].n;

async function subscribedCustomers(count: number) {
  const out: { orgId: string; customer: string; subscription: string }[] = [];
  for (let i = 0; i < count; i++) {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const [row] = await sql<{ customer: string; subscription: string }[]>`
      select o.stripe_customer_id as customer, s.stripe_subscription_id as subscription
        from organisations o join subscriptions s on s.org_id = o.id where o.id = ${orgId}`;
    out.push({ orgId, ...row });
  }
  return out;
}

describe("a storm of webhooks", () => {
  test("each customer's waiting events converge together: one read per object, in arrival order, to Stripe's current state", async () => {
    const customers = await subscribedCustomers(3);
    await billingSettled(system);
    await stopWorker();
    // Stripe changes (its own webhooks arrive and wait), then 20 more events per customer, interleaved.
    for (const c of customers) await stripe.subscriptions.update(c.subscription, { cancel_at_period_end: true });
    await system.local.flushWebhooks();
    const objects = [];
    for (const c of customers)
      objects.push({
        invoice: (await stripe.invoices.list({ customer: c.customer, limit: 1 })).data[0],
        sub: await stripe.subscriptions.retrieve(c.subscription),
      });
    const events = [];
    for (let i = 0; i < 20; i++)
      for (const { invoice, sub } of objects) events.push(await (i % 4 === 3 ? signed("invoice.paid", invoice) : signed("customer.subscription.updated", sub)));
    const answers = await storm(system.app.url, events);
    expect(answers.map((a) => a.status)).toEqual(events.map(() => 200));
    expect(await pendingEvents()).toBeGreaterThanOrEqual(events.length);

    reads.length = 0;
    await restartWorker();
    await until(async () => (await pendingEvents()) === 0, 20_000);
    for (const c of customers) {
      const [m] = await sql<
        { cancel_at_period_end: boolean; status: string }[]
      >`select cancel_at_period_end, status from subscriptions where org_id = ${c.orgId}`;
      expect(m).toEqual({ cancel_at_period_end: true, status: "active" });
      // Over twenty events named the subscription; their burst read it once (a second job may take a straggler).
      expect(reads.filter((r) => r.path === `/v1/subscriptions/${c.subscription}`).length).toBeLessThanOrEqual(2);
      // In arrival order: no event was converged before one that arrived earlier.
      const order = await sql<{ processed_at: Date }[]>`
        select processed_at from stripe_events where customer_id = ${c.customer} order by received_at, id`;
      const times = order.map((r) => new Date(r.processed_at).getTime());
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    // Every job ends: the ones taken along are completed with their burst, the leader once its task
    // returns (a moment after the burst's events are marked processed).
    await until(async () => (await sql`select 1 from graphile_worker.jobs where task_identifier = 'stripe_event'`).length === 0, 5_000);
  }, 60_000);

  test("an event that cannot converge fails only its own job; the events around it converge", async () => {
    const [c] = await subscribedCustomers(1);
    await billingSettled(system);
    // A second subscription on a price no plan bills: converging it fails ("not a price of the catalog").
    const sub = await stripe.subscriptions.retrieve(c.subscription);
    const price = await stripe.prices.create({
      currency: "usd",
      unit_amount: 4321,
      recurring: { interval: "month" },
      product: sub.items.data[0].price.product as string,
    });
    await stopWorker();
    const odd = await stripe.subscriptions.create({ customer: c.customer, items: [{ price: price.id }], billing_mode: { type: "classic" } });
    await system.local.flushWebhooks();
    const good = [await signed("customer.subscription.updated", sub), await signed("customer.subscription.updated", sub)];
    const bad = await signed("customer.subscription.updated", odd);
    const answers = await storm(system.app.url, [good[0], bad, good[1]], 1);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);

    const ids = answers.map((a) => a.body.data!.eventId);
    const goodJobs = (await sql<{ id: string }[]>`select id::text from graphile_worker.jobs where key = any(${[ids[0], ids[2]]})`).map((j) => j.id);
    expect(goodJobs).toHaveLength(2);
    await restartWorker();
    await until(async () => {
      const rows = await sql<{ id: string }[]>`select id from stripe_events where id = any(${[ids[0], ids[2]]}) and processed_at is not null`;
      return rows.length === 2;
    }, 20_000);
    // Its job ends failed for good (STRIPE_EVENT_MAX_ATTEMPTS is 2 here), its event unprocessed.
    const failed = await until(async () => {
      const [job] = await sql<{ attempts: number; max_attempts: number; last_error: string }[]>`
        select attempts, max_attempts, last_error from graphile_worker.jobs where key = ${ids[1]}`;
      return job && job.attempts === job.max_attempts && job;
    }, 20_000);
    expect(failed.last_error).toContain("is not a price of the catalog");
    // The good events' jobs never failed, not even once on account of the bad one.
    const failures = worker!.logs.filter((l) => l.includes("Failed task"));
    for (const job of goodJobs) expect(failures.filter((l) => l.includes(`Failed task ${job} (`))).toEqual([]);
    expect(failures.some((l) => l.includes("is not a price of the catalog"))).toBe(true);
    expect((await sql`select processed_at from stripe_events where id = ${ids[1]}`)[0].processed_at).toBeNull();
    expect((await sql`select status from subscriptions where org_id = ${c.orgId}`)[0].status).toBe("active");
  }, 60_000);

  test("one event id delivered 32 times at once, to two app processes, is stored once and enqueued once", async () => {
    const [c] = await subscribedCustomers(1);
    await billingSettled(system);
    await stopWorker();
    const second = await startApp({ ...system.env, PORT: "0" });
    try {
      const event = await signed("customer.subscription.updated", await stripe.subscriptions.retrieve(c.subscription));
      const answers = await Promise.all(Array.from({ length: 32 }, (_, i) => deliver(i % 2 ? system.app.url : second.url, event)));
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      expect(answers.filter((a) => a.body.data?.duplicate === false)).toHaveLength(1);
      const id = answers[0].body.data!.eventId;
      expect((await sql`select 1 from stripe_events where id = ${id}`).length).toBe(1);
      // A second enqueue of the same key would have bumped the job's revision.
      expect([...(await sql`select revision, attempts from graphile_worker.jobs where key = ${id}`)]).toEqual([{ revision: 0, attempts: 0 }]);
      await restartWorker();
      await until(async () => (await sql`select 1 from stripe_events where id = ${id} and processed_at is not null`).length === 1, 20_000);
    } finally {
      await second.stop();
    }
  }, 60_000);

  test("a storm holds convergence back: its jobs wait the storm's gather, the jobs queued just before it are pushed back too, calm comes back", async () => {
    const customers = await subscribedCustomers(4);
    await billingSettled(system);
    await stopWorker();
    // A storm here is 100 events a second into one process (20 within 0.2 s); calm waits 2 s, a storm 5 s.
    const app = await startApp({
      ...system.env,
      PORT: "0",
      STRIPE_EVENT_GATHER_MS: "2000",
      STRIPE_EVENT_STORM_RATE: "100",
      STRIPE_EVENT_STORM_GATHER_MS: "5000",
    });
    try {
      const events = async (k: number) =>
        Promise.all(
          Array.from({ length: k }, async (_, i) =>
            signed("customer.subscription.updated", await stripe.subscriptions.retrieve(customers[i % customers.length].subscription)),
          ),
        );
      const waits = async (ids: string[]) =>
        (
          await sql<
            { wait: number }[]
          >`select extract(epoch from run_at - created_at)::float8 as wait from graphile_worker.jobs where key = any(${ids}::text[])`
        ).map((r) => r.wait);
      const idsOf = (answers: { body: { data?: { eventId: string } } }[]) => answers.map((a) => a.body.data!.eventId);

      const [before, during] = [await events(5), await events(60)];
      const calm = idsOf(await storm(app.url, before, 5));
      const stormy = idsOf(await storm(app.url, during, 30));
      // The storm's jobs wait 5 s; the five queued calm within the last 2 s are pushed back to 5 s from then.
      for (const w of await waits(stormy)) expect(w).toBeGreaterThan(4.9);
      for (const w of await waits(calm)) expect(w).toBeGreaterThan(4.9);

      // Two seconds later the rate is calm again: 2 s.
      await Bun.sleep(2100);
      const after = idsOf(await storm(app.url, await events(1), 1));
      for (const w of await waits(after)) expect(w).toBeCloseTo(2, 1);

      await restartWorker();
      const all = [...calm, ...stormy, ...after];
      await until(
        async () => (await sql`select 1 from stripe_events where id = any(${all}::text[]) and processed_at is not null`).length === all.length,
        30_000,
      );
    } finally {
      await app.stop();
    }
  }, 60_000);
});
