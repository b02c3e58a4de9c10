// Grandfathering moves through the real app, the real worker and the local Stripe on test clocks:
// a pushed v2 leaves v1 subscribers on v1 (new subscribers get v2) until catalog:migrate; moved at
// renewal, the next renewal bills v2's price to the cent; moved now, the charge is Stripe's
// proration, as an upgrade's.
import { describe, expect, test } from "bun:test";
import { addMonths } from "../../../stripe-emulator/account";
import { billingSettled, invoicesOf, newOrg, startBillingSystem, until } from "../../../test/billing";
import type { Catalog } from "../domain/catalog.server";
import { subscribeThroughStripe } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";
import { currentCatalog, publishCatalog } from "./catalog.server";
import { migrateSubscribers } from "./catalog-migrate.server";
import { stripe } from "./stripe.server";
import { prepareStripeFor } from "./stripe-catalog.server";

const system = startBillingSystem();

const mirrorOf = async (orgId: string) =>
  (
    await sql<{ plan_version: number; pending_plan_version: number | null; pending_plan_code: string | null; period_start: number; period_end: number }[]>`
      select plan_version, pending_plan_version, pending_plan_code,
             extract(epoch from period_start)::int as period_start, extract(epoch from period_end)::int as period_end
        from subscriptions where org_id = ${orgId}`
  )[0];

async function clockOf(orgId: string): Promise<string> {
  const [org] = await sql<{ clock: string }[]>`select stripe_test_clock_id as clock from organisations where id = ${orgId}`;
  return org.clock;
}

/** Stripe's clock of the org to `to` (Unix seconds), then every webhook converged. */
async function advanceTo(orgId: string, to: number): Promise<void> {
  const clockId = await clockOf(orgId);
  await stripe.testHelpers.testClocks.advance(clockId, { frozen_time: to });
  await until(async () => (await stripe.testHelpers.testClocks.retrieve(clockId)).status === "ready", 30_000);
  await billingSettled(system);
}

const paidTotals = async (orgId: string) => {
  const all = await invoicesOf(orgId);
  return all.map((i) => [i.total, i.billing_reason, i.status]);
};

describe("catalog:migrate", () => {
  test("a pushed v2 leaves v1 subscribers on v1 until migrated; the renewal after migrating bills v2's price to the cent; --at now charges the upgrade's proration", async () => {
    const renewing = await newOrg();
    const movedNow = await newOrg();
    await subscribeThroughStripe(renewing, "starter");
    await subscribeThroughStripe(movedNow, "growth");
    const v1 = (await mirrorOf(renewing)).plan_version;
    const growthV1 = (await mirrorOf(movedNow)).plan_version;

    // v2: starter costs more and includes more; growth costs more.
    const content = structuredClone((await currentCatalog())!.content) as Catalog;
    content.plans.starter.prices = { month: 3_500, year: 35_000 };
    content.plans.starter.features.api_call = { included: 60_000 };
    content.plans.growth.prices = { month: 12_900, year: 129_000 };
    const stripeObjects = await prepareStripeFor(content);
    expect((await publishCatalog({ content, source: "test", stripe: stripeObjects })).published).toBe(true);

    // A new subscriber gets v2, at v2's price; the v1 subscriber keeps v1 and renews at v1's.
    const fresh = await newOrg();
    await subscribeThroughStripe(fresh, "starter");
    expect((await mirrorOf(fresh)).plan_version).toBe(v1 + 1);
    expect(await paidTotals(fresh)).toEqual([[3_500, "subscription_create", "paid"]]);
    const first = await mirrorOf(renewing);
    await advanceTo(renewing, first.period_end + 2 * 3600);
    await until(async () => (await paidTotals(renewing)).length === 2 && (await paidTotals(renewing))[1][2] === "paid", 20_000);
    expect(await paidTotals(renewing)).toEqual([
      [2_900, "subscription_create", "paid"],
      [2_900, "subscription_cycle", "paid"],
    ]);
    expect((await mirrorOf(renewing)).plan_version).toBe(v1);

    // Moved at renewal: nothing changes until the period ends (and it is no downgrade to show).
    const atRenewal = await migrateSubscribers({ planCode: "starter", from: v1, to: v1 + 1, at: "renewal" });
    expect(atRenewal.subscribers.map((s) => [s.orgId, s.priceChanged, s.amountDueNow])).toEqual([[renewing, true, 0]]);
    await billingSettled(system);
    expect(await mirrorOf(renewing)).toMatchObject({ plan_version: v1, pending_plan_version: v1 + 1, pending_plan_code: null });
    // Run again: it is still on v1 until its renewal; the move is already scheduled, nothing more happens.
    const again = await migrateSubscribers({ planCode: "starter", from: v1, to: v1 + 1, at: "renewal" });
    expect(again.subscribers.map((s) => s.orgId)).toEqual([renewing]);
    await billingSettled(system);

    const second = await mirrorOf(renewing);
    await advanceTo(renewing, second.period_end + 2 * 3600);
    await until(async () => (await paidTotals(renewing)).length === 3 && (await paidTotals(renewing))[2][2] === "paid", 20_000);
    expect((await paidTotals(renewing))[2]).toEqual([3_500, "subscription_cycle", "paid"]);
    const renewed = await mirrorOf(renewing);
    expect(renewed).toMatchObject({ plan_version: v1 + 1, pending_plan_version: null, pending_plan_code: null, period_start: second.period_end });
    const [counter] = await sql<{ included: number }[]>`
      select included::int from usage_counters where org_id = ${renewing} and metric = 'api_call' and period_start = to_timestamp(${renewed.period_start})`;
    expect(counter.included).toBe(60_000);

    // Moved now, ten days into its period: Stripe's proration of 9,900 → 12,900, invoiced at once.
    const growth = await mirrorOf(movedNow);
    await advanceTo(movedNow, growth.period_start + 10 * 86_400);
    const at = (await stripe.testHelpers.testClocks.retrieve(await clockOf(movedNow))).frozen_time;
    const now = await migrateSubscribers({ planCode: "growth", from: growthV1, to: growthV1 + 1, at: "now" });
    const fraction = (growth.period_end - at) / (growth.period_end - growth.period_start);
    const expected = Math.round(12_900 * fraction) - Math.round(9_900 * fraction);
    expect(now.subscribers.map((s) => [s.orgId, s.amountDueNow])).toEqual([[movedNow, expected]]);
    await billingSettled(system);
    expect((await paidTotals(movedNow)).at(-1)).toEqual([expected, "subscription_update", "paid"]);
    expect(await mirrorOf(movedNow)).toMatchObject({ plan_version: growthV1 + 1, pending_plan_version: null, period_end: growth.period_end });
    // Its next renewal bills v2's price.
    await advanceTo(movedNow, Math.max(growth.period_end, addMonths(growth.period_start, 1)) + 2 * 3600);
    await until(async () => (await paidTotals(movedNow)).at(-1)?.[1] === "subscription_cycle", 20_000);
    expect((await paidTotals(movedNow)).at(-1)).toEqual([12_900, "subscription_cycle", "paid"]);

    // Bad input changes nothing.
    await expect(migrateSubscribers({ planCode: "starter", from: v1, to: 99, at: "now" })).rejects.toThrow(/has no version 99/);
    await expect(migrateSubscribers({ planCode: "starter", from: v1, to: v1, at: "now" })).rejects.toThrow(/same version/);
  }, 120_000);
});

describe("catalog:migrate and a person's change at once", () => {
  test("a subscriber who left the version while the move waited for its turn is not moved back", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "growth");
    const from = (await mirrorOf(orgId)).plan_version;
    const content = structuredClone((await currentCatalog())!.content) as Catalog;
    content.plans.growth.prices = { month: 10_900, year: 109_000 };
    expect((await publishCatalog({ content, source: "test", stripe: await prepareStripeFor(content) })).published).toBe(true);
    const [{ to }] = await sql<{ to: number }[]>`select max(version)::int as to from plan_versions where plan_code = 'growth'`;
    const priceBefore = (await stripe.subscriptions.list({ customer: await customerOf(orgId) })).data[0].items.data[0].price.id;

    // A person's change holds the org's turn; the move lists the org, then waits for it.
    const turn = JSON.stringify({ $claim: "a person's upgrade" });
    await sql`insert into billing_requests (org_id, idempotency_key, plan_code, response) values (${orgId}, '$subscription-change', '$subscription-change', ${turn}::jsonb)`;
    const move = migrateSubscribers({ planCode: "growth", from, to, at: "now" });
    await Bun.sleep(300);
    // What that change left: the org on another plan (the mirror is what the move reads again).
    await sql`update subscriptions set plan_code = 'pro' where org_id = ${orgId}`;
    await sql`delete from billing_requests where org_id = ${orgId} and idempotency_key = '$subscription-change'`;
    const result = await move;
    expect(result.subscribers.map((s) => s.orgId)).not.toContain(orgId);
    // Listed, then read again in its turn (not merely listed after the change).
    expect(result.skipped).toContainEqual({ orgId, reason: `it left growth v${from} while the move ran` });
    expect((await stripe.subscriptions.list({ customer: await customerOf(orgId) })).data[0].items.data[0].price.id).toBe(priceBefore);
    expect(await sql`select 1 from audit_log where org_id = ${orgId} and action = 'plan_version.migrated'`).toHaveLength(0);
  });
});

async function customerOf(orgId: string): Promise<string> {
  const [org] = await sql<{ customer: string }[]>`select stripe_customer_id as customer from organisations where id = ${orgId}`;
  return org.customer;
}
