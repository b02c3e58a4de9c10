// The worker's observability against the whole billing system (local Stripe, app, worker): its
// /metrics shows webhook convergence and Stripe requests; a job that fails for good reaches
// Sentry with its task, job and Stripe event ids; the drift job saves each period's worst drift.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApiKey } from "../app/server/auth/keys.server";
import { measureDrift, reportUsageToStripe } from "../app/server/billing/meter-report.server";
import { subscribeThroughStripe } from "../app/server/ops/sandbox.server";
import { sql } from "../app/server/platform/db.server";
import { newOrg, startBillingSystem, until } from "../test/billing";
import { api, rid, setSubscriptionMirror } from "../test/factories";
import { freePort } from "../test/ports";
import { startSentryReceiver } from "../test/sentry-receiver";

const receiver = startSentryReceiver();
const metricsPort = freePort(); // the worker must be told its port before it starts
const system = startBillingSystem({ WORKER_METRICS_PORT: String(metricsPort), SENTRY_DSN: receiver.dsn });
afterAll(() => receiver.stop());
// The worker starts later with Sentry (~3 s): wait for it, so no event here waits on its start
// (the suite's convergence figures share this database).
beforeAll(async () => {
  await until(async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => null))?.ok, 20_000);
}, 30_000);

const workerMetrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
const value = (text: string, series: string) =>
  Number(
    text
      .split("\n")
      .find((l) => l.startsWith(`${series} `))
      ?.slice(series.length + 1) ?? 0,
  );

describe("worker observability", () => {
  test("webhook convergence and Stripe requests show on the worker's /metrics", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const text = await until(async () => {
      const t = await workerMetrics();
      return value(t, "msp_webhook_converge_seconds_count") > 0 && t;
    });
    expect(value(text, 'msp_webhook_converge_seconds_bucket{le="+Inf"}')).toBe(value(text, "msp_webhook_converge_seconds_count"));
    expect(value(text, 'msp_stripe_requests_total{outcome="ok"}')).toBeGreaterThan(0);
    expect(text).toContain("msp_jobs_queue_depth");
  });

  test("a Stripe event job that fails for good goes to Sentry with task, job and event ids", async () => {
    const eventId = `evt_dead${rid().replace(/[^A-Za-z0-9]/g, "")}`;
    // A subscription an org mirrors that Stripe has never heard of, the org with no Stripe customer:
    // nothing explains it, so its convergence fails every time.
    const orgId = await newOrg();
    await setSubscriptionMirror({ orgId, planCode: "starter" });
    await sql`update subscriptions set stripe_subscription_id = 'sub_doesnotexist' where org_id = ${orgId}`;
    const payload = {
      id: eventId,
      object: "event",
      type: "customer.subscription.updated",
      data: { object: { id: "sub_doesnotexist", object: "subscription" } },
    };
    await sql`insert into stripe_events (id, type, object_id, customer_id, stripe_created_at, payload)
              values (${eventId}, 'customer.subscription.updated', 'sub_doesnotexist', null, now(), ${JSON.stringify(payload)}::jsonb)`;
    const [job] = await sql<{ id: string }[]>`
      select (graphile_worker.add_job('stripe_event', json_build_object('eventId', ${eventId}::text), max_attempts := 1, job_key := ${eventId}::text)).id::text as id`;
    const event = await until(async () => receiver.events().find((e) => e.tags?.stripe_event_id === eventId), 20_000);
    expect(event.tags).toMatchObject({ task: "stripe_event", job_id: job.id, stripe_event_id: eventId, service: "worker" });
  });

  test("measure_drift saves each period's worst drift: 0 once reported, and usage not reported yet in an open period is no drift", async () => {
    // Stripe's totals (and so drift) are judged at once here: no aggregation lag, locally or assumed.
    system.local.setMeterLag(0);
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const key = await createApiKey({ orgId, name: "drift" });
    expect((await api(system.app.url, key.key).record({ request_id: rid(), quantity: 9 })).status).toBe(200);
    await reportUsageToStripe();
    const [counter] = await sql<{ period_key: string }[]>`select period_key from usage_counters where org_id = ${orgId}`;
    const saved = async () => (await sql<{ max_drift: number }[]>`select max_drift from slo_drift where period_key = ${counter.period_key}`)[0].max_drift;
    // Other tests' orgs share the period: look at this org's counter, and at the worst being saved.
    const driftOf = async () => {
      const m = await measureDrift(0);
      expect(await saved()).toBe(m.byPeriod[counter.period_key]);
      return m.byCounter.find((c) => c.orgId === orgId)?.drift;
    };
    expect(await driftOf()).toBe(0);
    // Recorded after the last report: the next report_usage sends it; until then it is in flight.
    expect((await api(system.app.url, key.key).record({ request_id: rid(), quantity: 500 })).status).toBe(200);
    expect(await driftOf()).toBe(0);
    // Stripe lost what it was sent (its meter total is short): that is drift.
    await sql`update usage_reports set reported = reported + 1000 where org_id = ${orgId}`;
    expect(await driftOf()).toBeGreaterThan(0.005);
    await sql`update usage_reports set reported = reported - 1000 where org_id = ${orgId}`;
    await measureDrift(0);
  });
});
