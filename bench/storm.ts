// The webhook storm (`bun run bench --storm` alone; last in a full `bun run bench`): customers
// subscribed through the local Stripe, their mirror made stale (as if webhooks had been lost), then
// STORM_EVENTS signed events about their subscriptions and invoices (Stripe's current objects as
// payloads) plus STORM_DUPLICATES re-deliveries, from STORM_SENDERS concurrent senders. Prints the
// intake rate, the convergence times (stripe_events.converge_ms: receipt → converged) and checks
// every answer was 2xx, each event was stored and converged once, and the mirror equals Stripe's.
// The app, the worker and the local Stripe run as their own processes, as `npm start` runs them.

import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import type postgres from "postgres";
import Stripe from "stripe";
import { freePort } from "../test/ports";
import { cpuSecondsOf } from "./wrk";

const root = join(import.meta.dir, "..");
const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

export const STORM_BARS = { intakePerSecond: 2000, convergeP95Ms: 5000 } as const;

export type StormResult = {
  customers: number;
  events: number;
  duplicates: number;
  senders: number;
  intakePerSecond: number;
  intakeSeconds: number;
  convergeP50Ms: number;
  convergeP95Ms: number;
  convergeMaxMs: number;
  allConvergedSeconds: number;
  /** CPU seconds used while the storm was sent: app processes, worker, the database's Postgres backends, this process (the senders). */
  intakeCpu: { app: number; worker: number; postgres: number; senders: number };
  /** Convergence jobs that ran for the storm (each converges a burst of one customer's events), and the worker's CPU seconds until all converged. */
  convergeJobs: number;
  workerCpuSeconds: number;
  checks: Record<string, boolean>;
  bars: Record<string, boolean>;
};

type Delivery = { id: string; body: string; signature: string };

/** `stripePort`: the port the bench process's app modules were configured with (STRIPE_LOCAL_PORT). */
export async function runStorm(opts: { databaseUrl: string; sql: postgres.Sql; stripePort: number }): Promise<StormResult> {
  const customers = int("STORM_CUSTOMERS", 100);
  const eventCount = int("STORM_EVENTS", 3000);
  const duplicateCount = int("STORM_DUPLICATES", 600);
  const senders = int("STORM_SENDERS", 32);
  const appProcesses = int("STORM_APP_PROCESSES", 1);
  const { sql, databaseUrl, stripePort } = opts;
  const { createOrg } = await import("../app/server/orgs/orgs.server");
  const { subscribeThroughStripe } = await import("../app/server/ops/sandbox.server");
  const { stripe, LOCAL_WEBHOOK_SECRET, planOfPrice } = await import("../app/server/billing/stripe.server");
  const { STRIPE_EVENT_TYPES, STRIPE_WEBHOOK_PATH } = await import("../app/server/billing/webhook-events.server");

  const appPort = freePort();
  const appUrl = `http://127.0.0.1:${appPort}`;
  const env = { ...process.env, DATABASE_URL: databaseUrl, STRIPE_LOCAL_PORT: String(stripePort), LOG_LEVEL: "warn" } as Record<string, string>;
  delete env.STRIPE_SECRET_KEY;
  const procs: Subprocess[] = [];
  const start = (cmd: string[], extra: Record<string, string> = {}) => {
    const p = spawn(cmd, { cwd: root, env: { ...env, ...extra }, stdout: "ignore", stderr: "inherit" });
    procs.push(p);
    return p;
  };
  try {
    // App processes share the port (SO_REUSEPORT), as `npm start` runs them.
    const apps = Array.from({ length: appProcesses }, () => start(["bun", "server.ts"], { PORT: String(appPort) }));
    start(["bun", "stripe-emulator/main.ts"], {
      STRIPE_WEBHOOK_URL: `${appUrl}${STRIPE_WEBHOOK_PATH}`,
      STRIPE_WEBHOOK_SECRET: LOCAL_WEBHOOK_SECRET,
      STRIPE_WEBHOOK_EVENTS: STRIPE_EVENT_TYPES.join(","),
    });
    await waitFor(`${appUrl}/api/diag/smoke`);
    await waitFor(`http://127.0.0.1:${stripePort}/health`);
    const worker = start(["bun", "worker/index.ts"]);

    // Setup: customers on paid plans through the local Stripe, a few at a time.
    const plans = ["starter", "growth", "pro"] as const;
    const orgIds = Array.from({ length: customers }, (_, i) => `org_storm_${i}`);
    process.stdout.write(`storm: subscribing ${customers} customers through the local Stripe `);
    await inParallel(orgIds, 8, async (orgId, i) => {
      await createOrg({ id: orgId, name: orgId });
      await subscribeThroughStripe(orgId, plans[i % plans.length]);
      if (i % 10 === 9) process.stdout.write(".");
    });
    console.log(" done");
    await settled(sql);

    // Stripe's current objects, the storm's payloads.
    const orgs = await sql<{ id: string; customer: string; subscription: string }[]>`
      select o.id, o.stripe_customer_id as customer, s.stripe_subscription_id as subscription
        from organisations o join subscriptions s on s.org_id = o.id where o.id like 'org_storm_%' order by o.id`;
    const objects = await inParallel(orgs, 8, async (o) => ({
      org: o,
      subscription: await stripe.subscriptions.retrieve(o.subscription),
      invoices: (await stripe.invoices.list({ customer: o.customer, limit: 10 })).data,
    }));
    // The mirror goes stale, as if the webhooks of some changes had been lost: the storm converges it back.
    await sql`update subscriptions set status = 'past_due', cancel_at_period_end = not cancel_at_period_end where org_id like 'org_storm_%'`;
    await sql`update invoices set status = 'open', amount_paid = 0 where org_id like 'org_storm_%'`;

    // The events: per customer, two subscription updates for every invoice event, interleaved at random.
    const run = Date.now().toString(36);
    const signer = new Stripe("sk_test_unused");
    const invoiceTypes = ["invoice.updated", "invoice.finalized", "invoice.paid"];
    const originals: Delivery[] = [];
    for (let n = 0; n < eventCount; n++) {
      const { subscription, invoices } = objects[n % objects.length];
      const k = Math.floor(n / objects.length);
      const invoice = k % 3 === 2 && invoices.length > 0 ? invoices[k % invoices.length] : null;
      const id = `evt_storm_${run}_${n}`;
      const body = JSON.stringify({
        id,
        object: "event",
        api_version: Stripe.API_VERSION,
        created: Math.floor(Date.now() / 1000),
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type: invoice ? invoiceTypes[k % invoiceTypes.length] : "customer.subscription.updated",
        data: { object: invoice ?? subscription },
      });
      originals.push({ id, body, signature: await signer.webhooks.generateTestHeaderStringAsync({ payload: body, secret: LOCAL_WEBHOOK_SECRET }) });
    }
    const deliveries = shuffle([...originals, ...shuffle([...originals]).slice(0, Math.min(duplicateCount, originals.length))]);

    // The storm: every sender posts the next delivery until none is left.
    console.log(`storm: ${originals.length} events + ${deliveries.length - originals.length} duplicates, ${senders} senders`);
    const statuses: Record<string, number> = {};
    let duplicatesAnswered = 0;
    let next = 0;
    const backends = (await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database()`).map((r) => r.pid);
    const cpu0 = {
      app: cpuSecondsOf(apps.map((a) => a.pid)),
      worker: cpuSecondsOf([worker.pid]),
      postgres: cpuSecondsOf(backends),
      self: process.cpuUsage(),
    };
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: senders }, async () => {
        while (next < deliveries.length) {
          const d = deliveries[next++];
          const r = await fetch(`${appUrl}${STRIPE_WEBHOOK_PATH}`, {
            method: "POST",
            headers: { "content-type": "application/json", "stripe-signature": d.signature },
            body: d.body,
          });
          const answer = (await r.json().catch(() => null)) as { data?: { duplicate?: boolean } } | null;
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          if (answer?.data?.duplicate === true) duplicatesAnswered++;
        }
      }),
    );
    const intakeSeconds = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(cpu0.self);
    const cpu = {
      app: cpuSecondsOf(apps.map((a) => a.pid)) - cpu0.app,
      worker: cpuSecondsOf([worker.pid]) - cpu0.worker,
      postgres: cpuSecondsOf(backends) - cpu0.postgres,
      senders: (self.user + self.system) / 1e6,
    };

    // Convergence: until every storm event is processed (or a minute and a half).
    const pattern = `evt_storm_${run}_%`;
    const deadline = Date.now() + 90_000;
    for (;;) {
      const [open] = await sql<{ n: number }[]>`select count(*)::int as n from stripe_events where id like ${pattern} and processed_at is null`;
      if (open.n === 0 || Date.now() > deadline) break;
      await Bun.sleep(100);
    }
    const allConvergedSeconds = (performance.now() - t0) / 1000;
    const [times] = await sql<{ stored: number; converged: number; p50: number | null; p95: number | null; max: number | null }[]>`
      select count(*)::int as stored, count(processed_at)::int as converged,
             percentile_cont(0.5) within group (order by converge_ms) as p50,
             percentile_cont(0.95) within group (order by converge_ms) as p95,
             max(converge_ms) as max
        from stripe_events where id like ${pattern}`;
    const [jobs] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'stripe_event'`;
    // A job marks the events it converged in one statement: one processed_at per job and customer.
    const [bursts] = await sql<{ n: number }[]>`select count(distinct (customer_id, processed_at))::int as n from stripe_events where id like ${pattern}`;
    const workerCpu = cpuSecondsOf([worker.pid]) - cpu0.worker;
    // Let the deliveries the convergence itself caused (none expected) and their jobs finish.
    await settled(sql);

    // The mirror against Stripe, object by object.
    let wrong = 0;
    for (const { org } of objects) {
      const truth = await stripe.subscriptions.retrieve(org.subscription);
      const [m] = await sql<{ status: string; plan_code: string; period_start: number; period_end: number; cancel_at_period_end: boolean }[]>`
        select status, plan_code, extract(epoch from period_start)::int8 as period_start, extract(epoch from period_end)::int8 as period_end, cancel_at_period_end
          from subscriptions where org_id = ${org.id}`;
      const item = truth.items.data[0];
      const same =
        m?.status === truth.status &&
        m.plan_code === (await planOfPrice(item.price.id, truth.status)) &&
        m.period_start === item.current_period_start &&
        m.period_end === item.current_period_end &&
        m.cancel_at_period_end === truth.cancel_at_period_end;
      const invoices = await sql<{ id: string; status: string; amount_paid: number; total: number }[]>`
        select id, status, amount_paid, total from invoices where org_id = ${org.id}`;
      const theirs = new Map((await stripe.invoices.list({ customer: org.customer, limit: 100 })).data.map((i) => [i.id, i]));
      const invoicesSame = invoices.every((i) => theirs.get(i.id)?.status === i.status && theirs.get(i.id)?.amount_paid === i.amount_paid);
      if (!same || !invoicesSame) wrong++;
    }

    const total = deliveries.length;
    const ok2xx = Object.entries(statuses).reduce((n, [s, c]) => n + (s.startsWith("2") ? c : 0), 0);
    const result: StormResult = {
      customers,
      events: originals.length,
      duplicates: total - originals.length,
      senders,
      intakePerSecond: total / intakeSeconds,
      intakeSeconds,
      convergeP50Ms: times.p50 ?? Number.NaN,
      convergeP95Ms: times.p95 ?? Number.NaN,
      convergeMaxMs: times.max ?? Number.NaN,
      allConvergedSeconds,
      intakeCpu: cpu,
      convergeJobs: bursts.n,
      workerCpuSeconds: workerCpu,
      checks: {
        "every delivery answered 2xx": ok2xx === total,
        "each duplicate answered as one": duplicatesAnswered === total - originals.length,
        "each event stored once": times.stored === originals.length,
        "every event converged": times.converged === originals.length,
        "no stripe_event job left (none failed)": jobs.n === 0,
        "mirror equals Stripe (subscriptions, invoices)": wrong === 0,
      },
      bars: {},
    };
    result.bars = {
      [`intake ≥ ${STORM_BARS.intakePerSecond.toLocaleString("en")} events/s`]: result.intakePerSecond >= STORM_BARS.intakePerSecond,
      [`convergence p95 ≤ ${STORM_BARS.convergeP95Ms / 1000} s`]: result.convergeP95Ms <= STORM_BARS.convergeP95Ms,
    };
    printStorm(result, statuses);
    return result;
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.exited));
  }
}

export function printStorm(r: StormResult, statuses: Record<string, number>): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`\nwebhook storm: ${r.events} events + ${r.duplicates} duplicates, ${r.customers} customers, ${r.senders} senders, same machine`);
  console.log(`  intake       ${r.intakePerSecond.toFixed(0)} deliveries/s (${r.intakeSeconds.toFixed(2)} s; answers ${JSON.stringify(statuses)})`);
  const c = r.intakeCpu;
  const per = (seconds: number) => `${((seconds / (r.events + r.duplicates)) * 1000).toFixed(2)} ms`;
  console.log(
    `  CPU while sending, per delivery: app ${per(c.app)}, Postgres ${per(c.postgres)}, worker ${per(c.worker)}, senders ${per(c.senders)} (the local Stripe not counted)`,
  );
  console.log(
    `  convergence  p50 ${s(r.convergeP50Ms)}, p95 ${s(r.convergeP95Ms)}, max ${s(r.convergeMaxMs)}; all converged ${r.allConvergedSeconds.toFixed(2)} s after the first delivery`,
  );
  console.log(
    `  worker       ${r.convergeJobs} jobs (${(r.events / r.convergeJobs).toFixed(1)} events each), ${r.workerCpuSeconds.toFixed(2)} CPU s from the first delivery until all converged`,
  );
  for (const [name, passed] of Object.entries(r.checks)) console.log(`${passed ? "exact" : "WRONG"}  ${name}`);
  for (const [name, passed] of Object.entries(r.bars)) console.log(`${passed ? "meets" : "MISSES"} ${name}`);
  const failed = [...Object.entries(r.checks), ...Object.entries(r.bars)].filter(([, passed]) => !passed).map(([name]) => name);
  console.log(failed.length === 0 ? "storm: PASS" : `storm: FAIL (${failed.join("; ")})`);
}

/** No webhook of the local Stripe's left to deliver and no stripe_event job ready or running. */
async function settled(sql: postgres.Sql, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [s] = await sql<{ deliveries: number; jobs: number }[]>`
      select (select count(*)::int from stripe_local.deliveries where delivered_at is null and given_up_at is null) as deliveries,
             (select count(*)::int from graphile_worker.jobs where task_identifier = 'stripe_event' and attempts < max_attempts) as jobs`;
    if (s.deliveries === 0 && s.jobs === 0) return;
    await Bun.sleep(100);
  }
  throw new Error("the billing system did not settle");
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not yet listening
    }
    await Bun.sleep(100);
  }
  throw new Error(`${url} did not come up`);
}

async function inParallel<T, R>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
