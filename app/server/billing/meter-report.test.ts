// Usage reported to Stripe as meter events, against a local Stripe as strict as Stripe: drift 0
// after the job, no double report when the job dies mid-batch and reruns (Stripe refuses the
// repeat), one org never blocks the others, catch-up after a Stripe outage, test clocks run ahead,
// long org ids, and drift not judged while Stripe may still be counting.
import { beforeAll, describe, expect, test } from "bun:test";
import { startStripeLocal } from "../../../stripe-emulator/index";
import { holdReporterTicks, newOrg, orgWithUsage as orgWithUsageOf, signIn, startBillingSystem, until } from "../../../test/billing";
import { api, rid } from "../../../test/factories";
import { createApiKey } from "../auth/keys.server";
import { advanceOrgClock, subscribeThroughStripe } from "../ops/sandbox.server";
import { createOrg } from "../orgs/orgs.server";
import { sql } from "../platform/db.server";
import { driftReport, reportUsageToStripe, UsageReportFailed } from "./meter-report.server";
import { meterEventIdentifier } from "./meter-rules.server";
import { ensureCustomer } from "./stripe.server";
import { ensureMeter, meterTotal, sendMeterEvent } from "./stripe-meter.server";

const system = startBillingSystem();
// Stripe's totals lag its meter events; these tests judge drift at once unless they say otherwise.
// They run the reporter themselves: the worker's every-minute run stays out of their way.
beforeAll(async () => {
  system.local.setMeterLag(0);
  await holdReporterTicks();
});

const orgWithUsage = (quantity: number, id?: string) => orgWithUsageOf(system, quantity, id);

const orgWithUsageKey = async (orgId: string) => ({ key: (await createApiKey({ orgId, name: "during outage" })).key });

const reportedOf = async (orgId: string) =>
  (await sql<{ n: number }[]>`select coalesce(sum(reported), 0)::int as n from usage_reports where org_id = ${orgId}`)[0].n;

const reportRow = async (orgId: string) =>
  (await sql<{ reported: number; pending_to: number | null }[]>`select reported::int, pending_to::int from usage_reports where org_id = ${orgId}`)[0];

/** The job marked [0, to) of the org's newest counter pending and sent it, then died before recording that it had: Stripe has it, the row says pending. */
async function cutOffAfterSending(orgId: string, to: number) {
  const [c] = await sql<
    { ps: number; period_start: string }[]
  >`select period_start::text, extract(epoch from period_start)::float8 as ps from usage_counters where org_id = ${orgId} order by period_start desc limit 1`;
  await sql`insert into usage_reports (org_id, metric, period_start, reported, pending_to) values (${orgId}, 'api_call', ${c.period_start}::timestamptz, 0, ${to})
            on conflict (org_id, metric, period_start) do update set reported = 0, pending_to = ${to}`;
  const { customerId } = await ensureCustomer(orgId);
  const identifier = meterEventIdentifier({ orgId, metric: "api_call", periodStart: c.ps, from: 0, to });
  const eventName = await ensureMeter();
  await sendMeterEvent({ eventName, customerId, value: to, timestamp: Math.floor(Date.now() / 1000), identifier });
  return { identifier, customerId, eventName };
}

/** Stripe refuses the meter event with this identifier, in words the reporter has never seen. */
const refuseIdentifier = (identifier: string, message: string) =>
  system.local.failRequests(
    { status: 400, type: "invalid_request_error", message },
    { path: "/v1/billing/meter_events", when: (p) => p.identifier === identifier },
  );

const driftOf = async (orgId: string, lagSeconds = 0) => (await driftReport(undefined, 500, lagSeconds)).rows.find((r) => r.orgId === orgId)!;

describe("usage reported to Stripe", () => {
  test("after the job, Stripe's meter total equals what was recorded: drift 0; a second run sends nothing", async () => {
    const { orgId, key } = await orgWithUsage(7);
    await reportUsageToStripe();
    expect(await driftOf(orgId)).toMatchObject({ recorded: 21, reported: 21, drift: 0 });
    await api(system.app.url, key).record({ request_id: rid(), quantity: 4 });
    await reportUsageToStripe();
    expect(await driftOf(orgId)).toMatchObject({ recorded: 25, reported: 25, drift: 0 });
    const again = await reportUsageToStripe();
    expect(again.reported).toBe(0);
  });

  test("a report cut off after Stripe counted it is resent, refused by Stripe as a repeat, counted once; the orgs after it are reported", async () => {
    // "org_0…" sorts before every other org of the run: the job meets it first.
    const { orgId } = await orgWithUsage(5, `org_0${crypto.randomUUID().slice(0, 8)}`);
    const after = await orgWithUsage(2);
    await cutOffAfterSending(orgId, 15);
    // More usage arrives before the rerun.
    await api(system.app.url, (await createApiKey({ orgId, name: "t2" })).key).record({ request_id: rid(), quantity: 2 });
    await reportUsageToStripe();
    expect(await driftOf(orgId)).toMatchObject({ recorded: 17, reported: 17, drift: 0, status: "settled" });
    expect(await driftOf(after.orgId)).toMatchObject({ recorded: 6, reported: 6, drift: 0 });
    expect(await reportRow(orgId)).toEqual({ reported: 17, pending_to: null });
  });

  test("a resend refused in words never seen before is judged by Stripe's totals, not the words: counted once, not stuck", async () => {
    const { orgId } = await orgWithUsage(4);
    const { identifier, customerId, eventName } = await cutOffAfterSending(orgId, 12);
    const odd = refuseIdentifier(identifier, "This meter event was recorded before.");
    try {
      await reportUsageToStripe();
      expect(odd.hits).toBe(1);
      expect(await reportRow(orgId)).toEqual({ reported: 12, pending_to: null });
      expect(await driftOf(orgId)).toMatchObject({ recorded: 12, reported: 12, drift: 0, status: "settled" });
      expect(await meterTotal({ eventName, customerId, start: 0, end: 4_000_000_020 })).toBe(12);
    } finally {
      odd.clear();
    }
  });

  test("while Stripe has not counted a refused resend yet, the counter waits for a later run; once counted, it is marked", async () => {
    const { orgId } = await orgWithUsage(3);
    system.local.setMeterLag(1500);
    const { customerId, eventName } = await cutOffAfterSending(orgId, 9);
    const odd = system.local.failRequests({ status: 400, type: "invalid_request_error", message: "Duplicate." }, { path: "/v1/billing/meter_events" });
    try {
      await expect(reportUsageToStripe()).rejects.toBeInstanceOf(UsageReportFailed);
      expect(await reportRow(orgId)).toEqual({ reported: 0, pending_to: 9 });
      await until(async () => (await meterTotal({ eventName, customerId, start: 0, end: 4_000_000_020 })) === 9);
      await reportUsageToStripe();
      expect(await reportRow(orgId)).toEqual({ reported: 9, pending_to: null });
    } finally {
      odd.clear();
      system.local.setMeterLag(0);
    }
    expect(await driftOf(orgId)).toMatchObject({ recorded: 9, reported: 9, drift: 0, status: "settled" });
  });

  test("an unexpected 400 for a range Stripe does not have fails that counter, marks nothing, and the next run counts it once", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const [c] = await sql<{ ps: number }[]>`select extract(epoch from period_start)::float8 as ps from subscriptions where org_id = ${orgId}`;
    const identifier = meterEventIdentifier({ orgId, metric: "api_call", periodStart: c.ps, from: 0, to: 6 });
    const odd = refuseIdentifier(identifier, "Something unexpected happened to this event.");
    const { key } = await orgWithUsageKey(orgId);
    for (let i = 0; i < 3; i++) await api(system.app.url, key).record({ request_id: rid(), quantity: 2 });
    const failed = await reportUsageToStripe().then(
      () => null,
      (err) => err,
    );
    odd.clear();
    expect(failed).toBeInstanceOf(UsageReportFailed);
    expect((failed as UsageReportFailed).failures.map((f) => [f.orgId, f.reason])).toContainEqual([orgId, "Something unexpected happened to this event."]);
    expect(await reportRow(orgId)).toEqual({ reported: 0, pending_to: 6 });
    await reportUsageToStripe();
    expect(await reportRow(orgId)).toEqual({ reported: 6, pending_to: null });
    expect(await driftOf(orgId)).toMatchObject({ recorded: 6, reported: 6, drift: 0, status: "settled" });
    const { customerId } = await ensureCustomer(orgId);
    expect(await meterTotal({ eventName: await ensureMeter(), customerId, start: 0, end: 4_000_000_020 })).toBe(6);
  });

  test("an org id of the longest kind with six-digit ranges is reported: the identifier stays within Stripe's 100 characters", async () => {
    const orgId = `org_${"L".repeat(56)}${crypto.randomUUID().slice(0, 8)}`;
    await createOrg({ id: orgId, email: "owner@example.com" });
    await subscribeThroughStripe(orgId, "growth");
    const { key } = await createApiKey({ orgId, name: "t" });
    await api(system.app.url, key).record({ request_id: rid(), quantity: 150_000 });
    await reportUsageToStripe();
    // The range 150000-150001 of a 68-character org: 102 characters as org:metric:period:range.
    await api(system.app.url, key).record({ request_id: rid(), quantity: 1 });
    await reportUsageToStripe();
    expect(await driftOf(orgId)).toMatchObject({ recorded: 150_001, reported: 150_001, drift: 0, status: "settled" });
  });

  test("after the test clock runs a month ahead, usage is reported at a timestamp Stripe accepts, and drift says it lies outside its period", async () => {
    const { orgId, key } = await orgWithUsage(1);
    await reportUsageToStripe();
    await advanceOrgClock(orgId, "31d");
    await api(system.app.url, key).record({ request_id: rid(), quantity: 5 });
    await reportUsageToStripe();
    const [r] = await sql<{ n: number }[]>`select count(*)::int as n from usage_reports where org_id = ${orgId} and pending_to is null and reported > 0`;
    expect(r.n).toBe(2);
    // (Convergence opens a counter for each metered feature of the plan: tokens' are empty, settled.)
    const rows = (await driftReport(undefined, 500, 0)).rows.filter((x) => x.orgId === orgId && x.metric === "api_call");
    expect(rows.map((x) => [x.recorded, x.status, x.drift])).toEqual([
      [5, "displaced", null],
      [3, "displaced", null],
    ]);
    const { customerId } = await ensureCustomer(orgId);
    expect(await meterTotal({ eventName: await ensureMeter(), customerId, start: 0, end: 4_000_000_020 })).toBe(8);
  });

  test("with the test clock ahead, a refused resend is judged by the customer's whole history: counted once", async () => {
    const { orgId, key } = await orgWithUsage(1);
    await reportUsageToStripe();
    await advanceOrgClock(orgId, "31d");
    await api(system.app.url, key).record({ request_id: rid(), quantity: 5 });
    const { identifier, customerId, eventName } = await cutOffAfterSending(orgId, 5);
    const odd = refuseIdentifier(identifier, "Seen it.");
    try {
      await reportUsageToStripe();
      expect(odd.hits).toBe(1);
    } finally {
      odd.clear();
    }
    const rows = await sql<{ reported: number; pending_to: number | null }[]>`
      select reported::int, pending_to::int from usage_reports where org_id = ${orgId} order by period_start`;
    expect([...rows]).toEqual([
      { reported: 3, pending_to: null },
      { reported: 5, pending_to: null },
    ]);
    expect(await meterTotal({ eventName, customerId, start: 0, end: 4_000_000_020 })).toBe(8);
  });

  test("a report younger than Stripe's aggregation lag is not judged as drift; once the lag has passed it is", async () => {
    const { orgId } = await orgWithUsage(3);
    system.local.setMeterLag(1500);
    try {
      await reportUsageToStripe();
      const young = await driftReport(undefined, 500, 2);
      expect(young.rows.find((x) => x.orgId === orgId)).toMatchObject({ recorded: 9, reported: 0, drift: null, status: "settling" });
      await Bun.sleep(2100);
      expect(await driftOf(orgId, 2)).toMatchObject({ recorded: 9, reported: 9, drift: 0, status: "settled" });
    } finally {
      system.local.setMeterLag(0);
    }
  });

  test("with Stripe down the job fails and changes nothing; when Stripe is back it catches up", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const { port } = system.local;
    await system.local.stop();
    // All of the org's usage is recorded during the outage (the hot path is unaffected), so no
    // reporter, neither this call nor the worker's every-minute run, can have sent any of it.
    const { key } = await orgWithUsageKey(orgId);
    for (const quantity of [3, 3, 3, 1]) expect((await api(system.app.url, key).record({ request_id: rid(), quantity })).status).toBe(200);
    await expect(reportUsageToStripe()).rejects.toThrow();
    expect(await reportedOf(orgId)).toBe(0);
    // Billing routes say Stripe is unavailable.
    const cookie = await signIn(system.app, orgId);
    const portal = await fetch(`${system.app.url}/api/v1/billing/portal`, { method: "POST", headers: { cookie, origin: system.app.url } });
    expect(portal.status).toBe(503);
    expect(((await portal.json()) as any).error.code).toBe("UPSTREAM_UNAVAILABLE");
    system.local = await startStripeLocal({ port, databaseUrl: process.env.DATABASE_URL!, webhook: undefined, meterLagMs: 0 });
    await reportUsageToStripe();
    expect(await driftOf(orgId)).toMatchObject({ recorded: 10, reported: 10, drift: 0 });
    const { customerId } = await ensureCustomer(orgId);
    expect(await meterTotal({ eventName: await ensureMeter(), customerId, start: 0, end: 4_000_000_020 })).toBe(10);
  });
});
