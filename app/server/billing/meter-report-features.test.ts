// Usage of every metered feature reported to its own Stripe meter (event name = the feature),
// against the local Stripe: tokens go to the tokens meter and api_call's to api_call's, each range
// once (a job cut off after Stripe counted it, two reporters at once), drift is 0 per feature, and
// measure_drift saves it per feature for the SLO. Tokens are recorded through the engine's SQL
// (record_usage), the one statement the app calls, since the HTTP API meters api_call only for now.
import { beforeAll, describe, expect, test } from "bun:test";
import { holdReporterTicks, invoicesOf, orgWithUsage, startBillingSystem, until } from "../../../test/billing";
import { rid } from "../../../test/factories";
import { sloReport } from "../observe/slo.server";
import { advanceOrgClock } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";
import { driftReport, measureDrift, reportUsageToStripe } from "./meter-report.server";
import { meterEventIdentifier } from "./meter-rules.server";
import { ensureCustomer } from "./stripe.server";
import { ensureMeter, meterTotal, sendMeterEvent } from "./stripe-meter.server";

const system = startBillingSystem();
beforeAll(async () => {
  system.local.setMeterLag(0);
  await holdReporterTicks();
});

/** Records `quantity` tokens for the org as the engine does (one request, its own request_id). */
async function recordTokens(orgId: string, quantity: number): Promise<string> {
  const [r] = await sql<{ outcome: string }[]>`
    select outcome from record_usage(${[orgId]}::text[], ${[rid("tok")]}::text[], ${["tokens"]}::text[], ${[quantity]}::int[], interval '3 days')`;
  return r.outcome;
}

const ALL_TIME = { start: 0, end: 4_000_000_020 };
const totalOf = async (orgId: string, feature: string) =>
  meterTotal({ eventName: await ensureMeter(feature), customerId: (await ensureCustomer(orgId)).customerId, ...ALL_TIME });
const rowsOf = async (orgId: string) =>
  (await driftReport(undefined, 500, 0)).rows.filter((r) => r.orgId === orgId).sort((a, b) => (a.metric < b.metric ? -1 : 1));
const reportOf = async (orgId: string, metric: string) =>
  (
    await sql<{ reported: number; pending_to: number | null }[]>`
      select reported::int, pending_to::int from usage_reports where org_id = ${orgId} and metric = ${metric}`
  )[0];

describe("usage reported per metered feature", () => {
  test("tokens go to the tokens meter and api_call to its own, each exactly once; drift is 0 per feature", async () => {
    const { orgId } = await orgWithUsage(system, 2);
    expect(await recordTokens(orgId, 1532)).toBe("admitted");
    expect(await recordTokens(orgId, 468)).toBe("admitted");
    const first = await reportUsageToStripe();
    expect(first.reported).toBeGreaterThanOrEqual(2006);
    expect(await totalOf(orgId, "tokens")).toBe(2000);
    expect(await totalOf(orgId, "api_call")).toBe(6);
    expect((await rowsOf(orgId)).map((r) => [r.metric, r.recorded, r.reported, r.drift, r.status])).toEqual([
      ["api_call", 6, 6, 0, "settled"],
      ["tokens", 2000, 2000, 0, "settled"],
    ]);

    // A new delta only: the range [2000, 2700) under its own identifier.
    expect(await recordTokens(orgId, 700)).toBe("admitted");
    await reportUsageToStripe();
    expect(await totalOf(orgId, "tokens")).toBe(2700);
    expect(await totalOf(orgId, "api_call")).toBe(6);
    expect(await reportOf(orgId, "tokens")).toEqual({ reported: 2700, pending_to: null });
    const report = await driftReport(undefined, 500, 0, "tokens");
    expect(report.rows.every((r) => r.metric === "tokens")).toBe(true);
    expect(report.rows.find((r) => r.orgId === orgId)).toMatchObject({ recorded: 2700, reported: 2700, drift: 0 });
    expect(report.maxDriftByFeature).toEqual({ tokens: 0 });
    // Nothing new: a rerun sends nothing.
    expect((await reportUsageToStripe()).reported).toBe(0);
  });

  test("a tokens report cut off after Stripe counted it is resent under the same identifier, refused, and counted once", async () => {
    const { orgId } = await orgWithUsage(system, 5);
    expect(await recordTokens(orgId, 40_000)).toBe("admitted");
    const [c] = await sql<{ ps: number; period_start: string }[]>`
      select period_start::text, extract(epoch from period_start)::float8 as ps from usage_counters where org_id = ${orgId} and metric = 'tokens'`;
    // The job marked [0, 40000) pending, sent it, and died before marking it reported.
    await sql`insert into usage_reports (org_id, metric, period_start, reported, pending_to)
              values (${orgId}, 'tokens', ${c.period_start}::timestamptz, 0, 40000)`;
    const identifier = meterEventIdentifier({ orgId, metric: "tokens", periodStart: c.ps, from: 0, to: 40_000 });
    const { customerId } = await ensureCustomer(orgId);
    await sendMeterEvent({ eventName: await ensureMeter("tokens"), customerId, value: 40_000, timestamp: Math.floor(Date.now() / 1000), identifier });
    // More tokens arrive before the rerun. The org's api_call units (15, reported in the same run)
    // must not be taken for the tokens range when the refused resend is judged by Stripe's totals.
    expect(await recordTokens(orgId, 2_500)).toBe("admitted");

    // The rerun: two reporters at once (a duplicate job), each trying everything.
    await Promise.all([reportUsageToStripe(), reportUsageToStripe()]);
    expect(await reportOf(orgId, "tokens")).toEqual({ reported: 42_500, pending_to: null });
    expect(await totalOf(orgId, "tokens")).toBe(42_500);
    expect(await totalOf(orgId, "api_call")).toBe(15);
    expect((await rowsOf(orgId)).map((r) => [r.metric, r.recorded, r.reported, r.drift])).toEqual([
      ["api_call", 15, 15, 0],
      ["tokens", 42_500, 42_500, 0],
    ]);
  });

  test("reported tokens are not billed per unit: the renewal invoice is the plan's price, as the portal says", async () => {
    const { orgId } = await orgWithUsage(system, 3);
    expect(await recordTokens(orgId, 123_456)).toBe("admitted");
    await reportUsageToStripe();
    expect(await totalOf(orgId, "tokens")).toBe(123_456);
    await advanceOrgClock(orgId, "31d");
    await until(async () => (await invoicesOf(orgId)).length === 2);
    // Included units are free: the subscription carries the flat price only, so Stripe's invoice
    // and ours agree whatever the meters hold (overage prices are the next issue's).
    expect((await invoicesOf(orgId)).map((i) => [i.billing_reason, i.total])).toEqual([
      ["subscription_create", 2900],
      ["subscription_cycle", 2900],
    ]);
  });

  test("measure_drift saves the worst drift per period and feature; the SLO shows each feature, and tokens drift breaches only its own", async () => {
    const { orgId } = await orgWithUsage(system, 1);
    expect(await recordTokens(orgId, 900)).toBe("admitted");
    await reportUsageToStripe();
    const [{ period_key }] = await sql<{ period_key: string }[]>`select period_key from usage_counters where org_id = ${orgId} and metric = 'tokens'`;
    const saved = async (metric: string) =>
      (await sql<{ max_drift: number }[]>`select max_drift from slo_drift where period_key = ${period_key} and metric = ${metric}`)[0]?.max_drift;

    const m = await measureDrift(0);
    expect(m.byCounter.filter((c) => c.orgId === orgId).map((c) => [c.metric, c.drift])).toEqual([
      ["api_call", 0],
      ["tokens", 0],
    ]);
    expect(await saved("tokens")).toBe(0);
    expect(await saved("api_call")).toBe(0);
    const slo = await sloReport();
    expect(slo.slos.find((s) => s.slo === "drift_max:tokens")).toMatchObject({ window: "60m", value: 0, ok: true });
    expect(slo.slos.find((s) => s.slo === "drift_max:api_call")).toMatchObject({ value: 0, ok: true });

    // Stripe lost part of what it was sent for tokens (as far as the counters can tell): tokens drift, api_call none.
    await sql`update usage_reports set reported = reported + 100 where org_id = ${orgId} and metric = 'tokens'`;
    await sql`update usage_counters set used = used + 100 where org_id = ${orgId} and metric = 'tokens'`;
    try {
      const worse = await measureDrift(0);
      expect(worse.byCounter.find((c) => c.orgId === orgId && c.metric === "tokens")!.drift).toBeCloseTo(100 / 900, 6);
      expect(worse.byCounter.find((c) => c.orgId === orgId && c.metric === "api_call")!.drift).toBe(0);
      expect(await saved("tokens")).toBeGreaterThan(0.005);
      const breached = await sloReport();
      expect(breached.slos.find((s) => s.slo === "drift_max:tokens")!.ok).toBe(false);
      expect(breached.slos.find((s) => s.slo === "drift_max")!.ok).toBe(false);
    } finally {
      await sql`update usage_counters set used = used - 100 where org_id = ${orgId} and metric = 'tokens'`;
      await sql`update usage_reports set reported = reported - 100 where org_id = ${orgId} and metric = 'tokens'`;
      await measureDrift(0);
    }
    expect(await saved("tokens")).toBe(0);
  });
});
