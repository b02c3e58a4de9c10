// Many machines on one Postgres: two app processes (each on its own port, as on two machines)
// and two workers, started as separate processes on one database. Usage sent through both apps,
// the same request_id to both at once, is counted exactly once; the crontab's every-minute jobs
// run once per tick, not once per worker; usage reaches Stripe exactly once; partition
// maintenance run by several processes at once succeeds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApiKey } from "../../app/server/auth/keys.server";
import { syncPlanCatalog } from "../../app/server/billing/plans.server";
import { LOCAL_WEBHOOK_SECRET } from "../../app/server/billing/stripe.server";
import { subscribeThroughStripe } from "../../app/server/ops/sandbox.server";
import { createOrg } from "../../app/server/orgs/orgs.server";
import { sql } from "../../app/server/platform/db.server";
import { prepareUsagePartitions } from "../../app/server/usage/partitions.server";
import { type StripeLocal, startStripeLocal } from "../../stripe-emulator/index";
import { startApp, type TestApp } from "../app";
import { countsOf } from "../factories";
import { jobsIdle } from "../jobs";
import { freePort } from "../ports";
import { startWorker, type TestWorker } from "../worker";

let apps: TestApp[] = [];
let workers: TestWorker[] = [];
let stripe: StripeLocal;
let workersUpAt = 0;

beforeAll(async () => {
  await syncPlanCatalog();
  apps = await Promise.all([startApp({ PORT: String(freePort()) }), startApp({ PORT: String(freePort()) })]);
  stripe = await startStripeLocal({
    port: Number(process.env.STRIPE_LOCAL_PORT),
    databaseUrl: process.env.DATABASE_URL!,
    webhook: { url: `${apps[0].url}/api/webhooks/stripe`, secret: LOCAL_WEBHOOK_SECRET },
    retrySchedule: [150, 300, 600],
    meterLagMs: 0,
  });
  // debug: graphile-worker's "Completed task" lines, one per job run.
  workers = await Promise.all([startWorker({ LOG_LEVEL: "debug" }), startWorker({ LOG_LEVEL: "debug" })]);
  workersUpAt = Date.now();
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all(apps.map((a) => a.stop()));
  await stripe?.stop();
});

/** Completed jobs of `task` across both workers: [jobId, finishedAt ms]. */
function completed(task: string): [string, number][] {
  const runs = new Map<string, number>();
  for (const w of workers) {
    for (const line of w.logs) {
      if (!line.includes(`(${task},`) || !line.includes("Completed task")) continue;
      const { job, time } = JSON.parse(line) as { job: { id: string }; time: string };
      runs.set(String(job.id), Date.parse(time));
    }
  }
  return [...runs.entries()];
}

async function post(app: TestApp, key: string, requestId: string): Promise<number> {
  const res = await fetch(`${app.url}/api/v1/usage`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ request_id: requestId }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe("two apps and two workers on one database", () => {
  test("usage through both apps, each request_id sent to both at once, is counted exactly once", async () => {
    const orgId = `org_mm${crypto.randomUUID().slice(0, 8)}`;
    await createOrg({ id: orgId, email: "owner@example.com" });
    await subscribeThroughStripe(orgId, "starter");
    const { key } = await createApiKey({ orgId, name: "t" });
    const ids = Array.from({ length: 600 }, (_, i) => `mm_${i}`);
    for (let i = 0; i < ids.length; i += 50) {
      const statuses = await Promise.all(ids.slice(i, i + 50).flatMap((id) => [post(apps[0], key, id), post(apps[1], key, id)]));
      expect(new Set(statuses)).toEqual(new Set([200]));
    }
    const counts = await countsOf(orgId);
    expect({ used: Number(counts.used), ledger: Number(counts.ledger), rows: Number(counts.rows) }).toEqual({ used: 600, ledger: 600, rows: 600 });

    // The every-minute report (two workers, one job per tick) brings Stripe's meter to exactly 600.
    const [{ customer }] = await sql<{ customer: string }[]>`select stripe_customer_id as customer from organisations where id = ${orgId}`;
    const meterOf = async () => {
      const [row] = await sql<{ events: number; units: number }[]>`
        select count(*)::int as events, coalesce(sum((data->>'value')::int), 0)::int as units
          from stripe_local.objects where type = 'emulator_meter_event' and customer = ${customer}`;
      return row;
    };
    const deadline = Date.now() + 75_000;
    while ((await meterOf()).units < 600 && Date.now() < deadline) await Bun.sleep(500);
    // The run that brought it there has finished; another tick's would find nothing left to send.
    await jobsIdle(["report_usage"]);
    const meter = await meterOf();
    expect(meter.units).toBe(600);
    const [report] = await sql<{ reported: number; pending_to: number | null }[]>`
      select reported::int, pending_to from usage_reports where org_id = ${orgId}`;
    expect(report).toEqual({ reported: 600, pending_to: null });
  }, 120_000);

  test("the crontab's every-minute jobs run once per tick, not once per worker", async () => {
    // Wait until both workers have been up across two minute boundaries (ticks).
    const firstTick = Math.ceil(workersUpAt / 60_000) * 60_000;
    const secondTick = firstTick + 60_000;
    const settle = async () => {
      for (let i = 0; i < 200; i++) {
        const runs = [...completed("rollover_periods"), ...completed("report_usage")].filter(([, at]) => at >= secondTick);
        if (runs.length >= 2) return;
        await Bun.sleep(100);
      }
    };
    await Bun.sleep(Math.max(0, secondTick - Date.now()));
    await settle();
    for (const task of ["rollover_periods", "report_usage"]) {
      const perTick = new Map<number, number>();
      for (const [, at] of completed(task)) {
        const tick = Math.floor(at / 60_000) * 60_000;
        if (tick >= firstTick && tick <= secondTick) perTick.set(tick, (perTick.get(tick) ?? 0) + 1);
      }
      expect([...perTick.entries()].sort()).toEqual([
        [firstTick, 1],
        [secondTick, 1],
      ]);
    }
    // Both workers took jobs (the once-per-tick is not one worker doing nothing).
    expect(workers.every((w) => w.logs.some((l) => l.includes("Completed task")))).toBe(true);
  }, 150_000);

  test("partition maintenance run by several processes at once: each succeeds, each month is created once", async () => {
    const months = await sql<{ name: string }[]>`
      select 'usage_events_' || to_char(date_trunc('month', now() at time zone 'UTC') + make_interval(months => i), 'YYYY_MM') as name
        from generate_series(1, 2) i`;
    // The months ahead are empty until they begin: dropped, they must be created again.
    for (const { name } of months) await sql.unsafe(`drop table if exists ${name}`);
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => prepareUsagePartitions(2)));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from pg_class where relname = any(${months.map((m) => m.name)}::text[])`;
    expect(n).toBe(2);
  });
});
