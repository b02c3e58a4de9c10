// Usage reported to Stripe as meter events: drift 0 after the job, no double report when the job
// dies mid-batch and reruns, catch-up after a Stripe outage.
import { describe, expect, test } from "bun:test";
import { newOrg, signIn, startBillingSystem } from "../../../test/billing";
import { api, rid } from "../../../test/factories";
import { startStripeLocal } from "../../../stripe-emulator/index";
import { sql } from "../db.server";
import { createApiKey } from "../keys.server";
import { ensureCustomer, ensureMeter, meterTotal, sendMeterEvent } from "../stripe.server";
import { subscribeThroughStripe } from "./ops.server";
import { driftReport, reportUsageToStripe } from "./usage-report.server";

const system = startBillingSystem();

async function orgWithUsage(quantity: number) {
  const orgId = await newOrg();
  await subscribeThroughStripe(orgId, "starter");
  const key = await createApiKey({ orgId, name: "t" });
  for (let i = 0; i < 3; i++) await api(system.app.url, key.key).record({ request_id: rid(), quantity });
  return { orgId, key: key.key };
}

const orgWithUsageKey = async (orgId: string) => ({ key: (await createApiKey({ orgId, name: "during outage" })).key });

const reportedOf = async (orgId: string) =>
  (await sql<{ n: number }[]>`select coalesce(sum(reported), 0)::int as n from usage_reports where org_id = ${orgId}`)[0].n;

const driftOf = async (orgId: string) => (await driftReport()).rows.find((r) => r.orgId === orgId)!;

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

  test("a report cut off after Stripe accepted it is resent with the same identifier and counted once", async () => {
    const { orgId } = await orgWithUsage(5);
    // The job marked the range pending and sent it, then died before recording that it had.
    const [c] = await sql<
      { ps: number; period_start: string }[]
    >`select period_start::text, extract(epoch from period_start)::float8 as ps from usage_counters where org_id = ${orgId}`;
    // (The worker's every-minute run may have reported the range already, with the same identifier.)
    await sql`insert into usage_reports (org_id, metric, period_start, reported, pending_to) values (${orgId}, 'api_call', ${c.period_start}::timestamptz, 0, 15)
              on conflict (org_id, metric, period_start) do update set reported = 0, pending_to = 15`;
    const { customerId } = await ensureCustomer(orgId);
    await sendMeterEvent({
      eventName: await ensureMeter(),
      customerId,
      value: 15,
      timestamp: Math.floor(c.ps) + 1,
      identifier: `${orgId}:api_call:${Math.floor(c.ps)}:0-15`,
    });
    // More usage arrives before the rerun.
    await api(system.app.url, (await createApiKey({ orgId, name: "t2" })).key).record({ request_id: rid(), quantity: 2 });
    await reportUsageToStripe();
    await reportUsageToStripe();
    expect(await driftOf(orgId)).toMatchObject({ recorded: 17, reported: 17, drift: 0 });
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
    system.local = await startStripeLocal({ port, databaseUrl: process.env.DATABASE_URL!, webhook: undefined });
    await reportUsageToStripe();
    expect(await driftOf(orgId)).toMatchObject({ recorded: 10, reported: 10, drift: 0 });
    const { customerId } = await ensureCustomer(orgId);
    expect(await meterTotal({ eventName: await ensureMeter(), customerId, start: 0, end: 4_000_000_000 })).toBe(10);
  });
});
