// Yearly plans with monthly allowances, through the real app, the real worker and the local
// Stripe on test clocks: Stripe bills a year, the included units reset every month on the
// anniversary day, and a change between intervals is previewed and charged alike.
import { describe, expect, test } from "bun:test";
import { addMonths } from "../../../stripe-emulator/account";
import { billingApi, billingSettled, invoicesOf, newOrg, startBillingSystem, until } from "../../../test/billing";
import { api, rid } from "../../../test/factories";
import { createApiKey } from "../auth/keys.server";
import { subscribeThroughStripe } from "../ops/sandbox.server";
import { setStripeCustomer } from "../orgs/orgs.server";
import { sql } from "../platform/db.server";
import { openAllowanceMonths } from "./converge.server";
import { stripe } from "./stripe.server";

const system = startBillingSystem();

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const billed = async (orgId: string) =>
  (
    await sql<{ billing_interval: string; period_start: number; period_end: number }[]>`
      select billing_interval, extract(epoch from period_start)::int as period_start, extract(epoch from period_end)::int as period_end
        from subscriptions where org_id = ${orgId}`
  )[0];

/** The org's Stripe customer on a test clock frozen at `start` (Unix seconds), as ensureCustomer makes one. */
async function customerOnClock(orgId: string, start: number): Promise<string> {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: start, name: orgId });
  const customer = await stripe.customers.create({ name: orgId, metadata: { org_id: orgId }, test_clock: clock.id });
  await setStripeCustomer(orgId, customer.id, clock.id);
  return clock.id;
}

async function advanceClock(clockId: string, to: number): Promise<void> {
  await stripe.testHelpers.testClocks.advance(clockId, { frozen_time: to });
  await until(async () => (await stripe.testHelpers.testClocks.retrieve(clockId)).status === "ready", 30_000);
  await billingSettled(system);
}

/**
 * A start n months before `target` whose n-th anniversary is exactly `target` (the day of month
 * clamps in short months, so n is 1 to 3): a subscription bought then reaches an allowance
 * boundary at `target`, seconds from now in the database's own time.
 */
function startBefore(target: number): { start: number; months: number } {
  const t = new Date(target * 1000);
  for (let months = 1; months <= 3; months++) {
    const start = Date.UTC(t.getUTCFullYear(), t.getUTCMonth() - months, t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds()) / 1000;
    if (new Date(start * 1000).getUTCDate() === t.getUTCDate() && addMonths(start, months) === target) return { start, months };
  }
  throw new Error("no start found");
}

describe("yearly plans with monthly allowances", () => {
  test("a yearly subscriber's allowance resets at the month boundary while Stripe's period does not; the year renews at the yearly price", async () => {
    const orgId = await newOrg();
    // The database's clock is the wall clock: the subscription starts months ago, so an
    // anniversary day falls a few seconds from now.
    const boundary = Math.floor(Date.now() / 1000) + 20;
    const { start, months } = startBefore(boundary);
    const clockId = await customerOnClock(orgId, start);
    const summary = await subscribeThroughStripe(orgId, "starter", "visa", "year");
    expect(summary).toMatchObject({ planCode: "starter", status: "active", interval: "year", periodStart: iso(start), periodEnd: iso(addMonths(start, 12)) });
    expect((await invoicesOf(orgId)).map((i) => [i.total, i.status])).toEqual([[29_000, "paid"]]);

    // The next allowance month's counter is made ahead, with the version's units, not plan_units
    // (made to differ here, as a newer catalog version's would).
    await sql`update plan_units set included = 1 where plan_code = 'starter' and metric = 'api_call'`;
    try {
      await openAllowanceMonths();
    } finally {
      await sql`update plan_units set included = 50000 where plan_code = 'starter' and metric = 'api_call'`;
    }
    const ahead = await sql<{ included: number; used: number }[]>`
      select included::int, used::int from usage_counters where org_id = ${orgId} and metric = 'api_call' and period_start = to_timestamp(${boundary})`;
    expect([...ahead]).toEqual([{ included: 50_000, used: 0 }]);

    const { key } = await createApiKey({ orgId, name: "t" });
    const client = api(system.app.url, key);
    const quota = async () => ((await (await client.quota()).json()) as any).data;
    // The allowance month holding now: the (months-1)-th anniversary to the months-th.
    expect(await quota()).toMatchObject({ used: 0, included: 50_000, periodStart: iso(addMonths(start, months - 1)), periodEnd: iso(boundary) });
    expect((await client.record({ request_id: rid(), quantity: 40_000 })).status).toBe(200);
    expect((await client.record({ request_id: rid(), quantity: 20_000 })).status).toBe(429);

    // Stripe's clock to the anniversary: nothing to bill, the Stripe period stays the year.
    await advanceClock(clockId, boundary + 60);
    expect((await invoicesOf(orgId)).length).toBe(1);
    expect(await billed(orgId)).toMatchObject({ billing_interval: "year", period_start: start, period_end: addMonths(start, 12) });

    // The database's time passes the anniversary: a new counter with all the units.
    await until(async () => Date.now() > (boundary + 1) * 1000, 30_000);
    const r = await client.record({ request_id: rid(), quantity: 20_000 });
    expect(r.status).toBe(200);
    const recorded = ((await r.json()) as any).data;
    expect(recorded).toMatchObject({ used: 20_000, included: 50_000, periodKey: iso(boundary).slice(0, 7) });
    // (The rollover job may already have made the following month's counter ahead, with nothing used.)
    const counters = await sql<{ period_start: number; used: number }[]>`
      select extract(epoch from period_start)::int as period_start, used::int from usage_counters
       where org_id = ${orgId} and metric = 'api_call' and (period_start <= to_timestamp(${boundary}) or used > 0) order by period_start`;
    expect(counters.map((c) => [c.period_start, c.used])).toEqual([
      [addMonths(start, months - 1), 40_000],
      [boundary, 20_000],
    ]);

    // A year after the start: Stripe renews at the yearly price, and the mirror holds the new year.
    await advanceClock(clockId, addMonths(start, 12) + 2 * 3600);
    const invoices = await until(async () => {
      const all = await invoicesOf(orgId);
      return all.length === 2 && all[1].status === "paid" && all;
    }, 30_000);
    expect(invoices.map((i) => [i.total, i.billing_reason])).toEqual([
      [29_000, "subscription_create"],
      [29_000, "subscription_cycle"],
    ]);
    expect(await billed(orgId)).toMatchObject({
      billing_interval: "year",
      period_start: addMonths(start, 12),
      period_end: addMonths(start, 24),
    });
  }, 120_000);

  test("monthly → yearly is an upgrade charged exactly what its preview showed; yearly → monthly waits for the year's end", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const { customerId } = (await sql<{ customerId: string }[]>`select stripe_customer_id as "customerId" from organisations where id = ${orgId}`)[0];
    const customer = await stripe.customers.retrieve(customerId);
    const clockId = String((customer as { test_clock: string }).test_clock);
    const now = (await stripe.testHelpers.testClocks.retrieve(clockId)).frozen_time;
    await advanceClock(clockId, now + 10 * 86_400);

    const call = await billingApi(system.app, orgId);
    const preview = await call("POST", "preview", { planCode: "starter", interval: "year" });
    expect(preview.status).toBe(200);
    const p = preview.body.data;
    expect(p).toMatchObject({
      from: "starter",
      to: "starter",
      interval: "year",
      change: "upgrade",
      effective: "now",
      source: "stripe",
      nextInvoiceAmount: 29_000,
    });
    // The month's unused time is credited; the year is billed in full from now.
    const sub = await billed(orgId);
    const unused = Math.round((2_900 * (sub.period_end - p.prorationDate)) / (sub.period_end - sub.period_start));
    expect(p.amountDueNow).toBe(29_000 - unused);
    expect(p.nextInvoiceAt).toBe(iso(addMonths(p.prorationDate, 12)));

    const up = await call("POST", "upgrade", { planCode: "starter", interval: "year", prorationDate: p.prorationDate });
    expect(up.status).toBe(200);
    expect(up.body.data).toMatchObject({ planCode: "starter", interval: "year" });
    await billingSettled(system);
    const invoices = await invoicesOf(orgId);
    expect(invoices.map((i) => [i.total, i.billing_reason])).toEqual([
      [2_900, "subscription_create"],
      [p.amountDueNow, "subscription_update"],
    ]);
    expect(await billed(orgId)).toMatchObject({
      billing_interval: "year",
      period_start: p.prorationDate,
      period_end: addMonths(p.prorationDate, 12),
    });

    // Back to monthly: a downgrade for the end of the year, nothing charged now.
    const back = await call("POST", "preview", { planCode: "starter", interval: "month" });
    expect(back.body.data).toMatchObject({ change: "downgrade", effective: "period_end", amountDueNow: 0, nextInvoiceAmount: 2_900 });
    const down = await call("POST", "downgrade", { planCode: "starter", interval: "month" });
    expect(down.status).toBe(200);
    expect(down.body.data).toMatchObject({ planCode: "starter", interval: "year", pendingPlanCode: "starter", pendingInterval: "month" });
    // At the year's end the schedule moves the price: a monthly period, billed at the monthly price.
    await advanceClock(clockId, addMonths(p.prorationDate, 12) + 2 * 3600);
    const monthly = await until(async () => {
      const all = await invoicesOf(orgId);
      return all.length === 3 && all[2].status === "paid" && all;
    }, 30_000);
    expect(monthly.map((i) => [i.total, i.billing_reason])[2]).toEqual([2_900, "subscription_cycle"]);
    expect(await billed(orgId)).toMatchObject({
      billing_interval: "month",
      period_start: addMonths(p.prorationDate, 12),
      period_end: addMonths(p.prorationDate, 13),
    });
    // A plan without a yearly price cannot be chosen yearly.
    const trial = await call("POST", "preview", { planCode: "trial", interval: "year" });
    expect(trial.status).toBe(400);
    const bad = await call("POST", "preview", { planCode: "growth", interval: "weekly" });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: "VALIDATION_FAILED" } } });
  }, 90_000);

  test("Checkout with interval year bills the yearly price; the API answers the interval", async () => {
    const orgId = await newOrg();
    const call = await billingApi(system.app, orgId);
    const started = await call("POST", "checkout", { planCode: "growth", interval: "year" });
    expect(started.status).toBe(200);
    const paid = await fetch(started.body.data.url, { method: "POST", body: new URLSearchParams({ card: "4242424242424242" }), redirect: "manual" });
    expect(paid.status).toBe(303);
    await until(async () => (await billed(orgId))?.billing_interval === "year", 15_000);
    await until(async () => (await invoicesOf(orgId)).some((i) => i.status === "paid"), 15_000);
    expect((await invoicesOf(orgId)).map((i) => [i.total, i.status])).toEqual([[99_000, "paid"]]);
    const sub = await billed(orgId);
    expect(sub.period_end).toBe(addMonths(sub.period_start, 12));
    const { key } = await createApiKey({ orgId, name: "t" });
    const entitlements = ((await (await fetch(`${system.app.url}/api/v1/entitlements`, { headers: { authorization: `Bearer ${key}` } })).json()) as any).data;
    expect(entitlements.plan).toMatchObject({ code: "growth", interval: "year" });
    expect(entitlements.period).toMatchObject({ start: iso(sub.period_start), end: iso(addMonths(sub.period_start, 1)) });
    // A trial has no yearly price of its own.
    const other = await billingApi(system.app, await newOrg());
    const trial = await other("POST", "checkout", { planCode: "trial", interval: "year" });
    expect(trial).toMatchObject({ status: 400, body: { error: { code: "VALIDATION_FAILED", message: "Trial has no yearly price." } } });
  }, 60_000);
});
