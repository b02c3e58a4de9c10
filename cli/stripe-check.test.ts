// `bun run ops stripe:check` against the local Stripe, run as an operator runs it (a process, next
// to the app): green on a fresh system, and red with a clear line and its fix for each thing that
// can break: the endpoint missing or disabled, an event type missing, a price that is not the
// plan's, no portal configuration or one that allows what the app forbids, events that never arrive.
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { spawn } from "bun";
import Stripe from "stripe";
import type { CheckLine, StripeCheckReport } from "../app/server/billing/check-lines.server";
import { activeCatalog } from "../app/server/billing/plans.server";
import { isAppPortalConfiguration, PORTAL_FEATURES, PORTAL_METADATA } from "../app/server/billing/portal-config.server";
import { ensureCustomer, ensurePrices, subscribeWithTestCard } from "../app/server/billing/stripe.server";
import { prepareStripeFor } from "../app/server/billing/stripe-catalog.server";
import { checkStripeAccount, configuredTarget } from "../app/server/billing/stripe-check.server";
import { STRIPE_EVENT_TYPES, STRIPE_WEBHOOK_PATH } from "../app/server/billing/webhook-events.server";
import { billingSettled, holdReporterTicks, newOrg, startBillingSystem } from "../test/billing";

const system = startBillingSystem();
// The worker's every-minute usage report would make the api_call meter (local mode) under the live-mode tests.
beforeAll(holdReporterTicks);
const stripe = new Stripe("sk_test_check", { host: "127.0.0.1", port: Number(process.env.STRIPE_LOCAL_PORT), protocol: "http", maxNetworkRetries: 0 });

/** Runs the check as a process with the app's settings (its port makes its base URL). */
async function check(env: Record<string, string> = {}, json = true) {
  const proc = spawn(["bun", join(import.meta.dir, "ops.ts"), "stripe:check", ...(json ? ["--json"] : [])], {
    env: { ...process.env, LOG_LEVEL: "silent", PORT: system.env.PORT, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (!json) return { code, out, err, report: null as unknown as StripeCheckReport };
  const lines = out.trim().split("\n");
  expect(lines.length).toBe(1);
  return { code, out, err, report: JSON.parse(lines[0]) as StripeCheckReport };
}

const failing = (r: StripeCheckReport) => r.lines.filter((l) => l.status === "fail");
const line = (r: StripeCheckReport, area: CheckLine["area"], check: string) => r.lines.find((l) => l.area === area && l.check === check)!;
const endpoint = async () => (await stripe.webhookEndpoints.list()).data.find((e) => e.url === `${system.app.url}${STRIPE_WEBHOOK_PATH}`)!;

/**
 * The app's own portal configurations, newest first, as the check orders them: the app makes one at
 * start, made here when its start has not yet (the app started before the local Stripe and tries
 * again later), so there may be two. The check reads the newest active one.
 */
async function appPortalConfigurations() {
  const ours = async () =>
    (await stripe.billingPortal.configurations.list({ active: true, limit: 100 })).data.filter((c) => isAppPortalConfiguration(c.metadata));
  const found = await ours();
  if (found.length === 0) await stripe.billingPortal.configurations.create({ features: PORTAL_FEATURES, metadata: PORTAL_METADATA });
  return found.length ? found : ours();
}
const appPortalConfiguration = async () => (await appPortalConfigurations())[0];

describe("ops stripe:check", () => {
  test("a fresh system is green: the app made its portal configuration at start (exit 0)", async () => {
    await appPortalConfiguration();
    const after = await check();
    expect([after.code, after.report.ok, after.report.failures, after.report.warnings]).toEqual([0, true, 0, 0]);
    expect(new Set(after.report.lines.map((l) => l.area))).toEqual(new Set(["key", "webhook", "secret", "portal", "catalog"]));
    expect(line(after.report, "webhook", "endpoint").detail).toContain(`sends the ${STRIPE_EVENT_TYPES.length} event types the app acts on`);
    expect(line(after.report, "key", "permissions").status).toBe("pass");
    expect(line(after.report, "catalog", "price starter").detail).toContain("creates it (29.00 USD a month) on first use");

    const human = await check({}, false);
    expect(human.code).toBe(0);
    expect(human.out).toContain("✓ webhook  endpoint:");
    expect(human.out).toContain("0 to fix.");
  });

  test("no endpoint for the app's URL, or a disabled one: red, with the request that makes it", async () => {
    const ours = await endpoint();
    await stripe.webhookEndpoints.update(ours.id, { url: `${ours.url}-elsewhere` });
    try {
      const { code, report } = await check();
      expect(code).toBe(1);
      const l = line(report, "webhook", "endpoint");
      expect(l.status).toBe("fail");
      expect(l.detail).toContain(`no webhook endpoint sends to ${ours.url}`);
      expect(l.detail).toContain(`${ours.id} → ${ours.url}-elsewhere`);
      expect(l.fix!.join("\n")).toContain("/v1/webhook_endpoints -u sk_test_local: -d url=");
      expect(l.fix!.join("\n")).toContain("-d 'enabled_events[]=invoice.paid'");
    } finally {
      await stripe.webhookEndpoints.update(ours.id, { url: ours.url });
    }
    await stripe.webhookEndpoints.update(ours.id, { disabled: true });
    try {
      const { code, report } = await check();
      expect(code).toBe(1);
      expect(line(report, "webhook", "endpoint")).toMatchObject({ status: "fail", detail: `${ours.id} → ${ours.url} is disabled: Stripe sends it nothing` });
    } finally {
      await stripe.webhookEndpoints.update(ours.id, { disabled: false });
    }
  });

  test("an event type the app acts on is not sent: red, naming it", async () => {
    const ours = await endpoint();
    await stripe.webhookEndpoints.update(ours.id, { enabled_events: STRIPE_EVENT_TYPES.filter((t) => t !== "invoice.paid") });
    try {
      const { code, report } = await check();
      expect(code).toBe(1);
      expect(failing(report).map((l) => [l.area, l.check, l.detail])).toEqual([["webhook", "event types", `${ours.id} does not send invoice.paid`]]);
      expect(line(report, "webhook", "event types").fix!.join("\n")).toContain(`/v1/webhook_endpoints/${ours.id}`);
    } finally {
      await stripe.webhookEndpoints.update(ours.id, { enabled_events: [...STRIPE_EVENT_TYPES] });
    }
  });

  test("prices: green as the app makes them; red when the plan's amount differs or the price is archived", async () => {
    const ids = await ensurePrices();
    const green = await check();
    expect(green.code).toBe(0);
    expect(line(green.report, "catalog", "price starter")).toMatchObject({ status: "pass" });
    expect(line(green.report, "catalog", "price starter").detail).toContain("is 29.00 USD every month, as the plan says");

    // The plan's price changed in PLANS_CONFIG (today's shape, converted), and Stripe still has the old one under its lookup key.
    const plan = (name: string, priceMonthly: number, included: number) => ({ name, priceMonthly, currency: "usd", includedUnits: { api_call: included } });
    const plans = {
      trial: { ...plan("Trial", 3900, 1_000), trialDays: 14, priceOf: "starter" },
      starter: plan("Starter", 3900, 50_000),
      growth: plan("Growth", 9900, 250_000),
      pro: plan("Pro", 29900, 1_000_000),
    };
    const changed = await check({ PLANS_CONFIG: JSON.stringify(plans) });
    expect(changed.code).toBe(1);
    expect(failing(changed.report).map((l) => [l.area, l.check])).toEqual([["catalog", "price starter"]]);
    const l = line(changed.report, "catalog", "price starter");
    expect(l.detail).toBe(`${ids.get("starter")} (lookup key metered_plan_starter) is 29.00 USD every month: the plan says 39.00 USD a month`);
    expect(l.fix!.join("\n")).toContain("-d unit_amount=3900");
    expect(l.fix!.join("\n")).toContain("-d transfer_lookup_key=true");

    await stripe.prices.update(ids.get("growth")!, { active: false });
    try {
      const archived = await check();
      expect(line(archived.report, "catalog", "price growth")).toMatchObject({ status: "fail" });
      expect(line(archived.report, "catalog", "price growth").detail).toContain("it is archived");
    } finally {
      await stripe.prices.update(ids.get("growth")!, { active: true });
    }
  });

  test("the portal: red when the app's configuration is inactive, or lets customers cancel at once or switch plans", async () => {
    const portal = await appPortalConfiguration();
    await stripe.billingPortal.configurations.update(portal.id, { features: { subscription_cancel: { enabled: true, mode: "immediately" } } });
    try {
      const { code, report } = await check();
      expect(code).toBe(1);
      expect(line(report, "portal", "configuration").detail).toBe(
        `the app's configuration ${portal.id}: cancelling is "immediately", not at the period end (an immediate cancel ends a paid period early)`,
      );
    } finally {
      await stripe.billingPortal.configurations.update(portal.id, { features: { subscription_cancel: { enabled: true, mode: "at_period_end" } } });
    }
    // Every active one of the app's off (the app's start may have made a second beside the test's).
    const all = await appPortalConfigurations();
    for (const c of all) await stripe.billingPortal.configurations.update(c.id, { active: false });
    try {
      const { report } = await check();
      expect(line(report, "portal", "configuration")).toMatchObject({ status: "fail" });
      expect(line(report, "portal", "configuration").detail).toContain("no active billing portal configuration");
    } finally {
      for (const c of all) await stripe.billingPortal.configurations.update(c.id, { active: true });
    }
    expect((await check()).code).toBe(0);
  });

  test("live-mode rules, on the same account: HTTPS only, no price or meter made on first use, the signing secret required", async () => {
    await ensureCustomer(await newOrg()); // on a test clock, as every org is on the local Stripe
    const live = { mode: "live" as const, secretKey: "rk_live_opsCheckTest1234", webhookSecret: null, usesTestClocks: false };
    const report = await checkStripeAccount({ ...configuredTarget(), ...live, webhookUrl: `${system.app.url}${STRIPE_WEBHOOK_PATH}` });
    expect(report.ok).toBe(false);
    expect(line(report, "key", "mode").detail).toBe("live-mode restricted key rk_live_…1234: real charges");
    expect(line(report, "webhook", "https")).toMatchObject({ status: "fail" });
    expect(line(report, "webhook", "base URL")).toMatchObject({ status: "warn" });
    expect(line(report, "secret", "signing secret").detail).toBe("STRIPE_WEBHOOK_SECRET is not set: the app refuses every delivery");
    expect(line(report, "catalog", "meter api_call").detail).toBe('no billing meter for the event "api_call": usage reporting fails until it exists');
    expect(line(report, "catalog", "meter api_call").fix!.join("\n")).toContain("-d event_name=api_call");
    expect(line(report, "catalog", "meter api_call").fix!.join("\n")).toContain("--live");
    expect(line(report, "catalog", "price starter").status).toBe("pass");
    // An org on a test clock: with a real key that is said.
    expect(line(report, "key", "orgs on test clocks")).toMatchObject({ status: "warn" });
    const testKey = await checkStripeAccount({ ...configuredTarget(), mode: "test", secretKey: "sk_test_opsCheckTest1234", usesTestClocks: true });
    expect(line(testKey, "key", "test clocks")).toMatchObject({ status: "fail" });
    expect(line(testKey, "key", "test clocks").detail).toContain("never renew");
  });

  test("every metered feature has its meter and every plan its yearly price: a missing meter is red (live), made by catalog:push it is green", async () => {
    const live = { mode: "live" as const, secretKey: "rk_live_opsCheckTest1234", webhookSecret: null, usesTestClocks: false };
    const target = () => ({ ...configuredTarget(), ...live, webhookUrl: `${system.app.url}${STRIPE_WEBHOOK_PATH}` });
    expect(configuredTarget().meteredFeatures.map((f) => f.code)).toEqual(["api_call", "tokens"]);
    const before = await checkStripeAccount(target());
    expect(before.ok).toBe(false);
    expect(line(before, "catalog", "meter tokens")).toMatchObject({
      status: "fail",
      detail: 'no billing meter for the event "tokens": usage reporting fails until it exists',
    });
    expect(line(before, "catalog", "meter tokens").fix!.join("\n")).toContain("-d event_name=tokens");
    // (The yearly prices may exist already: the local Stripe's first use makes both intervals'.)
    // The trial has no price of its own, and so no yearly one.
    expect(before.lines.some((l) => l.check.startsWith("price trial"))).toBe(false);
    // Overage prices per plan and feature that sells overage: none for starter; growth's missing in live mode is red.
    expect(before.lines.some((l) => l.check.startsWith("overage starter"))).toBe(false);
    const missing = line(before, "catalog", "overage growth tokens");
    expect(missing).toMatchObject({ status: "fail" });
    expect(missing.fix!.join("\n")).toContain("-d lookup_key=metered_overage_growth_tokens");
    // Each top-up pack's one-time price: missing in live mode is red, with the price to create.
    const noPack = line(before, "catalog", "top-up api_call");
    expect(noPack).toMatchObject({ status: "fail" });
    expect(noPack.fix!.join("\n")).toContain("-d lookup_key=metered_top_up_api_call");

    // What ops catalog:push makes before publishing: one meter per metered feature, prices per interval.
    await prepareStripeFor(activeCatalog().catalog);
    const after = await checkStripeAccount(target());
    expect(line(after, "catalog", "meter tokens")).toMatchObject({ status: "pass" });
    expect(line(after, "catalog", "meter tokens").detail).toContain('counts "tokens" events');
    expect(line(after, "catalog", "meter api_call")).toMatchObject({ status: "pass" });
    for (const code of ["starter", "growth", "pro"]) expect(line(after, "catalog", `price ${code} yearly`)).toMatchObject({ status: "pass" });
    expect(line(after, "catalog", "price growth yearly").detail).toContain("is 990.00 USD every year, as the plan says");
    for (const check of ["overage growth api_call", "overage growth tokens", "overage pro api_call", "overage pro tokens"])
      expect(line(after, "catalog", check)).toMatchObject({ status: "pass" });
    expect(line(after, "catalog", "overage growth api_call").detail).toContain("250000 call included, then 0.05 cents per call, monthly");
    for (const metric of Object.keys(activeCatalog().catalog.topUps)) expect(line(after, "catalog", `top-up ${metric}`)).toMatchObject({ status: "pass" });
    expect(line(after, "catalog", "top-up api_call").detail).toContain("one-time, as the catalog says");
    expect(failing(after).filter((l) => l.area === "catalog")).toEqual([]);
  });

  test("events that never reach the app (an endpoint signing with another secret): red, with the events named", async () => {
    // The app's endpoint replaced by one whose secret the app does not have: deliveries are refused (400).
    const ours = await endpoint();
    await stripe.webhookEndpoints.del(ours.id);
    const stranger = await stripe.webhookEndpoints.create({ url: ours.url, enabled_events: [...STRIPE_EVENT_TYPES] });
    const orgId = await newOrg();
    await subscribeWithTestCard({ orgId, planCode: "starter" });
    const target = { ...configuredTarget(), webhookUrl: ours.url, deliveryGraceSeconds: 0 };
    const report = await checkStripeAccount(target);
    const l = line(report, "secret", "deliveries");
    expect(l.status).toBe("fail");
    expect(l.detail).toMatch(/never reached its database, e\.g\. evt_\w+ \(customer\.subscription\.created\)|never reached its database/);
    expect(l.detail).toContain("still undelivered at Stripe: the endpoint's signing secret is not STRIPE_WEBHOOK_SECRET");
    expect(l.fix!.join("\n")).toContain(stranger.id);
    await stripe.webhookEndpoints.del(stranger.id);
    await billingSettled(system);
  }, 60_000);
});
