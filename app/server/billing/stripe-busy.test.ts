// Stripe busy (429 rate_limit, lock_timeout) and Stripe refusing the key (401, 403), through the
// SDK to the app and the worker against the local Stripe's switches: callers get 503
// UPSTREAM_UNAVAILABLE with Retry-After and none of Stripe's words; a refused key is one error
// line and one Sentry event per process, however many calls meet it; the usage reporter stops its
// run at the first refusal, comes back after Stripe's Retry-After (the minute's ticks wait), and
// then reports every counter exactly once.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import type { StripeFault } from "../../../stripe-emulator/faults";
import { holdReporterTicks, newOrg, orgWithUsage, signIn, startBillingSystem, until } from "../../../test/billing";
import { jobsIdle } from "../../../test/jobs";
import { startSentryReceiver } from "../../../test/sentry-receiver";
import { REPORT_BACKOFF_KEY } from "../../../worker/report-usage";
import { subscribeThroughStripe } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";
import { driftReport } from "./meter-report.server";

const receiver = startSentryReceiver();
const system = startBillingSystem({ SENTRY_DSN: receiver.dsn });
afterAll(() => receiver.stop());
// Stripe's totals lag its meter events; drift is judged at once here.
beforeAll(() => system.local.setMeterLag(0));

const PORTAL = "/v1/billing_portal/sessions";

/** POST /api/v1/billing/portal as the org's owner. */
async function portal(orgId: string) {
  const cookie = await signIn(system.app, orgId);
  const r = await fetch(`${system.app.url}/api/v1/billing/portal`, { method: "POST", headers: { cookie, origin: system.app.url } });
  return { status: r.status, retryAfter: r.headers.get("retry-after"), text: await r.text() };
}

/** The same, while the local Stripe answers `fault` to the portal session. */
async function portalWhile(orgId: string, fault: StripeFault, options: Parameters<typeof system.local.failRequests>[1] = {}) {
  const on = system.local.failRequests(fault, { path: PORTAL, ...options });
  try {
    return { ...(await portal(orgId)), hits: on.hits };
  } finally {
    on.clear();
  }
}

describe("callers: Stripe busy or refusing the key is 503 UPSTREAM_UNAVAILABLE, never a 500", () => {
  let orgId: string;
  beforeAll(async () => {
    orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
  });

  test("429 rate_limit: 503 with Retry-After by the limiter Stripe names, or Stripe's own Retry-After", async () => {
    const rate = await portalWhile(orgId, "rate_limit");
    expect([rate.status, rate.retryAfter]).toEqual([503, "2"]);
    expect(JSON.parse(rate.text)).toEqual({
      ok: false,
      error: { code: "UPSTREAM_UNAVAILABLE", message: "Billing is busy; please try again in a few seconds.", details: {} },
    });
    expect((await portalWhile(orgId, "rate_limit", { reason: "endpoint-concurrency" })).retryAfter).toBe("1");
    expect((await portalWhile(orgId, "rate_limit", { reason: "resource-specific" })).retryAfter).toBe("60");
    expect((await portalWhile(orgId, "rate_limit", { retryAfter: 7 })).retryAfter).toBe("7");
    // Nothing is left refusing: the same call works.
    expect((await portal(orgId)).status).toBe(200);
    const metrics = await (await fetch(`${system.app.url}/metrics`)).text();
    expect(metrics).toMatch(/^msp_stripe_requests_total\{outcome="rate_limited"\} [1-9]/m);
  });

  test("429 lock_timeout: the SDK retries it once by itself; a lock that stays is 503 with Retry-After 1", async () => {
    const once = await portalWhile(orgId, "lock_timeout", { times: 1 });
    expect([once.status, once.hits]).toEqual([200, 1]);
    const held = await portalWhile(orgId, "lock_timeout");
    expect([held.status, held.retryAfter, held.hits]).toEqual([503, "1", 2]);
    expect(JSON.parse(held.text).error.code).toBe("UPSTREAM_UNAVAILABLE");
  });

  test("401 and 403: 503 without Stripe's words; one error line and one Sentry event per refusal, however many calls", async () => {
    const alarms = (needle: string) => system.app.logs.filter((l) => l.includes(needle) && JSON.parse(l).level === "error");
    for (let i = 0; i < 3; i++) {
      const refused = await portalWhile(orgId, "invalid_api_key");
      expect([refused.status, refused.retryAfter]).toEqual([503, "60"]);
      expect(JSON.parse(refused.text).error).toEqual({
        code: "UPSTREAM_UNAVAILABLE",
        message: "Billing is unavailable right now; please try again later.",
        details: {},
      });
      expect(refused.text).not.toContain("API Key");
      expect(refused.text).not.toContain("sk_test");
    }
    for (let i = 0; i < 2; i++) {
      const forbidden = await portalWhile(orgId, "restricted_key");
      expect(forbidden.status).toBe(503);
      expect(forbidden.text).not.toContain("permission");
    }
    const key = "Stripe refused the API key (401)";
    const permission = `Stripe refused the API key's permission for POST ${PORTAL} (403)`;
    const fromApp = () => receiver.events().filter((e) => e.tags?.service === "app" && /^Stripe refused the API key/.test(String(e.message)));
    await until(async () => fromApp().length >= 2, 10_000);
    expect(alarms(key)).toHaveLength(1);
    expect(alarms(permission)).toHaveLength(1);
    expect(JSON.parse(alarms(key)[0])).toMatchObject({ stripeStatus: 401, endpoint: `POST ${PORTAL}` });
    expect(fromApp().map((e) => [e.level, e.tags?.stripe_status, e.tags?.service])).toEqual([
      ["error", "401", "app"],
      ["error", "403", "app"],
    ]);
  });
});

describe("the usage reporter: stops at the first refusal, comes back later, counts everything once", () => {
  const backoffJob = async () =>
    (
      await sql<{ secs: number; payload: { backoff?: number } }[]>`
        select extract(epoch from j.run_at - now())::float8 as secs, p.payload
          from graphile_worker.jobs j join graphile_worker._private_jobs p on p.id = j.id
         where j.key = ${REPORT_BACKOFF_KEY}`
    )[0];
  const runReporterNow = async () => {
    await sql`select graphile_worker.add_job('report_usage', '{}'::json, queue_name := 'report_usage')`;
    await jobsIdle(["report_usage"], 20_000);
  };
  const reportedOf = async (orgId: string) =>
    (await sql<{ n: number }[]>`select coalesce(sum(reported), 0)::int as n from usage_reports where org_id = ${orgId}`)[0].n;

  beforeEach(holdReporterTicks);

  test("429: one meter event tried, none counted, the next run after Stripe's Retry-After; then drift 0 for every org", async () => {
    const orgs = [await orgWithUsage(system, 4), await orgWithUsage(system, 5), await orgWithUsage(system, 6)];
    const busy = system.local.failRequests("rate_limit", { path: "/v1/billing/meter_events", retryAfter: 5 });
    await runReporterNow();
    // Three counters waited; the run stopped at the first 429 instead of firing the other two.
    expect(busy.hits).toBe(1);
    for (const { orgId } of orgs) expect(await reportedOf(orgId)).toBe(0);
    const next = await backoffJob();
    expect(next.payload).toEqual({ backoff: 1 });
    expect(next.secs).toBeGreaterThan(2);
    expect(next.secs).toBeLessThanOrEqual(5);
    // A tick of the minute meanwhile does nothing.
    await sql`select graphile_worker.add_job('report_usage', json_build_object('_cron', json_build_object('ts', now()::text)), queue_name := 'report_usage')`;
    await jobsIdle(["report_usage"], 20_000);
    expect(busy.hits).toBe(1);
    expect(system.worker.logs.some((l) => l.includes("Stripe is busy (429 global-rate): usage reporting stopped; the next run is in 5 s"))).toBe(true);
    busy.clear();
    // The scheduled run comes by itself and reports all of it, each unit once.
    await until(async () => (await backoffJob()) === undefined, 15_000);
    await jobsIdle(["report_usage"], 20_000);
    const drift = (await driftReport(undefined, 500, 0)).rows;
    for (const { orgId, recorded } of orgs) {
      expect(await reportedOf(orgId)).toBe(recorded);
      expect(drift.find((r) => r.orgId === orgId)).toMatchObject({ recorded, reported: recorded, drift: 0, status: "settled" });
    }
  });

  test("a refused key stops the run the same way, with a five-minute backoff and one error line", async () => {
    const { orgId, recorded } = await orgWithUsage(system, 2);
    const refused = system.local.failRequests("invalid_api_key", { path: "/v1/billing/meter_events" });
    try {
      await runReporterNow();
      await runReporterNow();
      expect(refused.hits).toBe(2);
      expect(await reportedOf(orgId)).toBe(0);
      const next = await backoffJob();
      expect(next.secs).toBeGreaterThan(290);
      expect(next.secs).toBeLessThanOrEqual(300);
      const alarms = system.worker.logs.filter((l) => l.includes("Stripe refused the API key (401)") && JSON.parse(l).level === "error");
      expect(alarms).toHaveLength(1);
    } finally {
      refused.clear();
    }
    await runReporterNow();
    expect(await reportedOf(orgId)).toBe(recorded);
  });
});
