// Overage billed by Stripe, end to end against the local Stripe with the real app and worker: a
// growth subscription carries a metered graduated price per feature beside its flat price; usage
// past the included units, reported to the meters as usual, comes back on the renewal invoice as
// the overage line, to the cent, equal to the dashboard's figure; drift stays within 0.5%.
//
// The admission of units past the included ones is another part of issue 23 (record_usage's
// overage policy): until it lands, the counter is raised past the included units directly, as
// that admission will raise it, and the reporter sends it to Stripe as it sends any usage.
import { beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { billingApi, billingSettled, holdReporterTicks, invoicesOf, newOrg, signIn, startBillingSystem } from "../../../test/billing";
import { rid } from "../../../test/factories";
import { overageCents } from "../domain/overage.server";
import { advanceOrgClock, subscribeThroughStripe } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";
import { driftReport, reportUsageToStripe } from "./meter-report.server";
import { ensureCustomer } from "./stripe.server";
import { overagePricesFor } from "./stripe-overage.server";
import { usageMeters } from "./usage-meters.server";

const system = startBillingSystem();
let stripe: Stripe;
beforeAll(async () => {
  system.local.setMeterLag(0);
  await holdReporterTicks();
  stripe = new Stripe("sk_test_overage", { host: "127.0.0.1", port: system.local.port, protocol: "http" });
});

async function record(orgId: string, metric: string, quantity: number): Promise<string> {
  const [r] = await sql<{ outcome: string }[]>`
    select outcome from record_usage(${[orgId]}::text[], ${[rid("ovg")]}::text[], ${[metric]}::text[], ${[quantity]}::int[], interval '3 days')`;
  return r.outcome;
}

/** Units admitted past the included ones, as the overage admission will count them. */
const admitPastIncluded = (orgId: string, metric: string, units: number) =>
  sql`update usage_counters set used = used + ${units} where org_id = ${orgId} and metric = ${metric} and period_start = (
        select max(period_start) from usage_counters where org_id = ${orgId} and metric = ${metric})`;

/** The dashboard's overage figure for a feature, as the signed-in owner sees it (its text, e.g. "$0.67"). */
async function dashboardOverage(orgId: string, feature: string): Promise<string> {
  const cookie = await signIn(system.app, orgId);
  const html = await (await fetch(`${system.app.url}/dashboard`, { headers: { cookie } })).text();
  const match = new RegExp(`data-testid="overage-cents-${feature}"[^>]*>([^<]+)<`).exec(html);
  if (!match) throw new Error(`no overage figure for ${feature} on the dashboard`);
  return match[1];
}

const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`;

describe("overage on the period's invoice", () => {
  test("a renewal after overage bills the exact overage line, equal to the dashboard's figure; drift stays ≤ 0.5%", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "growth");
    const { customerId } = await ensureCustomer(orgId);
    const metered = await overagePricesFor("growth");
    expect(metered.map((m) => m.feature).sort()).toEqual(["api_call", "tokens"]);
    const [sub] = (await stripe.subscriptions.list({ customer: customerId })).data;
    // The flat price first (it decides the plan), then a metered item per feature with overage.
    expect(sub.items.data[0].price.recurring?.usage_type).toBe("licensed");
    expect(
      sub.items.data
        .slice(1)
        .map((i) => `${i.price.recurring?.usage_type}:${i.price.metadata.feature}`)
        .sort(),
    ).toEqual(["metered:api_call", "metered:tokens"]);

    // growth: 250,000 calls included, then 50 cents per 1,000. 1,331 past them: 66.55 → 67 cents.
    expect(await record(orgId, "api_call", 250_000)).toBe("admitted");
    await admitPastIncluded(orgId, "api_call", 1_331);
    // Tokens stay within their 25,000,000: their line bills nothing.
    expect(await record(orgId, "tokens", 1_000_000)).toBe("admitted");
    await reportUsageToStripe();
    const drift = (await driftReport(undefined, 500, 0)).rows.filter((r) => r.orgId === orgId);
    expect(drift.map((r) => [r.metric, r.recorded, r.reported])).toEqual([
      ["api_call", 251_331, 251_331],
      ["tokens", 1_000_000, 1_000_000],
    ]);
    for (const row of drift) expect(row.drift ?? 0).toBeLessThanOrEqual(0.005);

    const expected = overageCents(1_331, { priceCents: 50, per: 1000 });
    expect(expected).toBe(67);
    const [meter] = (await usageMeters({ orgId, timeZone: "UTC" })).filter((m) => m.feature === "api_call");
    expect(meter.overage).toMatchObject({ priceCents: 50, per: 1000, units: 1_331, cents: expected });
    expect(await dashboardOverage(orgId, "api_call")).toBe(dollars(expected));

    // Stripe's upcoming invoice already shows it; the renewal bills it.
    const apiCallPrice = metered.find((m) => m.feature === "api_call")!.priceId;
    const tokensPrice = metered.find((m) => m.feature === "tokens")!.priceId;
    const lineTotal = (inv: Stripe.Invoice, price: string) =>
      inv.lines.data.filter((l) => l.pricing?.price_details?.price === price).reduce((s, l) => s + l.amount, 0);
    const upcoming = await stripe.invoices.createPreview({ customer: customerId, subscription: sub.id });
    expect(lineTotal(upcoming, apiCallPrice)).toBe(expected);

    // Past the period end and the renewal draft's hour: finalized and paid.
    await advanceOrgClock(orgId, "32d");
    await billingSettled(system);
    const renewal = (await stripe.invoices.list({ customer: customerId })).data.find((i) => i.billing_reason === "subscription_cycle")!;
    expect(renewal.status).toBe("paid");
    expect(lineTotal(renewal, apiCallPrice)).toBe(expected);
    expect(renewal.lines.data.filter((l) => l.pricing?.price_details?.price === apiCallPrice).map((l) => [l.quantity, l.amount])).toEqual([
      [250_000, 0],
      [1_331, expected],
    ]);
    expect(lineTotal(renewal, tokensPrice)).toBe(0);
    expect(renewal.total).toBe(9900 + expected);
    // The app's invoice mirror agrees.
    expect((await invoicesOf(orgId)).map((i) => [i.billing_reason, i.total])).toEqual([
      ["subscription_create", 9900],
      ["subscription_cycle", 9900 + expected],
    ]);
  });

  test("plan changes carry the metered items: growth → pro moves them in place; monthly → yearly removes them, charged as previewed", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "growth");
    const { customerId } = await ensureCustomer(orgId);
    const call = await billingApi(system.app, orgId);
    const items = async () => {
      const [sub] = (await stripe.subscriptions.list({ customer: customerId })).data;
      return sub.items.data.map((i) => ({ id: i.id, price: i.price.id, interval: i.price.recurring?.interval }));
    };
    const before = await items();

    const toPro = await call("POST", "preview", { planCode: "pro" });
    expect((await call("POST", "upgrade", { planCode: "pro", prorationDate: toPro.body.data.prorationDate })).status).toBe(200);
    const pro = new Map((await overagePricesFor("pro")).map((m) => [m.priceId, m.feature]));
    const after = await items();
    // The same metered items (ids), now on pro's tiers.
    expect(
      after
        .slice(1)
        .map((i) => i.id)
        .sort(),
    ).toEqual(
      before
        .slice(1)
        .map((i) => i.id)
        .sort(),
    );
    expect(after.slice(1).every((i) => pro.has(i.price))).toBe(true);

    await record(orgId, "api_call", 1_000);
    await reportUsageToStripe();
    const toYearly = await call("POST", "preview", { planCode: "pro", interval: "year" });
    expect(toYearly.status).toBe(200);
    const upgraded = await call("POST", "upgrade", { planCode: "pro", interval: "year", prorationDate: toYearly.body.data.prorationDate });
    expect(upgraded.status).toBe(200);
    expect((await items()).map((i) => i.interval)).toEqual(["year"]);
    await billingSettled(system);
    const invoices = (await stripe.invoices.list({ customer: customerId })).data;
    const change = invoices.find((i) => i.billing_reason === "subscription_update" && i.lines.data.some((l) => l.period.end - l.period.start > 300 * 86_400))!;
    expect(change.amount_due).toBe(toYearly.body.data.amountDueNow);
  });

  test("a yearly subscription carries no metered items, and the dashboard shows no overage", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "growth", "visa", "year");
    const { customerId } = await ensureCustomer(orgId);
    const [sub] = (await stripe.subscriptions.list({ customer: customerId })).data;
    expect(sub.items.data.map((i) => [i.price.recurring?.interval, i.price.recurring?.usage_type])).toEqual([["year", "licensed"]]);
    expect((await usageMeters({ orgId, timeZone: "UTC" })).map((m) => m.overage)).toEqual([null, null]);
  });
});
