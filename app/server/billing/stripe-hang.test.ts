// A Stripe that takes requests and never answers (the local Stripe's hang switch), met by the real
// app process: checkout, the portal and plan changes answer 503 "Stripe is not answering" within the
// request's 5 s Stripe deadline; three such timeouts open Stripe's breaker, and then billing
// requests answer at once without reaching Stripe; a probe closes it once Stripe answers again.
// An upgrade cut off by the deadline is not half-written, and its retry with the same
// Idempotency-Key upgrades once, even though Stripe ran the cut-off request late.
import { afterEach, describe, expect, test } from "bun:test";
import { billingApi, invoicesOf, mirror, newOrg, signIn, startBillingSystem, until } from "../../../test/billing";
import { subscribeThroughStripe } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";
import { priceOf, stripe } from "./stripe.server";

// Probes often, so a test sees the breaker close soon after Stripe answers again.
const system = startBillingSystem({ STRIPE_BREAKER_PROBE_MS: "200" });

const NOT_ANSWERING = { ok: false, error: { code: "UPSTREAM_UNAVAILABLE", message: "Stripe is not answering, try again in a minute.", details: {} } };

/** POST /api/v1/billing/<path> as the org's owner: status, Retry-After, body and how long it took. */
async function billing(orgId: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const cookie = await signIn(system.app, orgId);
  const started = performance.now();
  const r = await fetch(`${system.app.url}/api/v1/billing/${path}`, {
    method: "POST",
    headers: { cookie, origin: system.app.url, "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, retryAfter: r.headers.get("retry-after"), body: (await r.json()) as any, ms: performance.now() - started };
}

const stripeCheck = async () => {
  const r = await fetch(`${system.app.url}/api/diag/smoke`);
  const report = (await r.json()) as any;
  return { status: r.status, check: (report.data ?? report.error.details).checks.find((c: { name: string }) => c.name === "stripe") };
};

const breakerGauge = async () => /^msp_breaker_open\{breaker="stripe"\} (\d)/m.exec(await await fetch(`${system.app.url}/metrics`).then((r) => r.text()))?.[1];

type Switch = { clear(): void; readonly hits: number };
let hang: Switch | null = null;
let probes: Switch | null = null;
afterEach(() => {
  hang?.clear();
  probes?.clear();
  system.local.setDeliveries("on");
});

describe("a hung Stripe", () => {
  test("an upgrade cut off at the deadline changes nothing; Stripe runs it late, and the retry with the same key upgrades once", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const call = await billingApi(system.app, orgId);
    const preview = await call("POST", "preview", { planCode: "growth" });
    expect(preview.status).toBe(200);
    const invoicesBefore = (await invoicesOf(orgId)).length;
    const subscriptionId = (await mirror(orgId)).stripe_subscription_id as string;

    // Only the subscription's update hangs: the reads before it answer.
    hang = system.local.hangRequests({ method: "POST", path: `/v1/subscriptions/${subscriptionId}` });
    const key = { "idempotency-key": `hang-${crypto.randomUUID()}` };
    const cut = await billing(orgId, "upgrade", { planCode: "growth", prorationDate: preview.body.data.prorationDate }, key);
    expect([cut.status, cut.retryAfter, cut.body]).toEqual([503, "60", NOT_ANSWERING]);
    expect(cut.ms).toBeGreaterThan(4500);
    expect(cut.ms).toBeLessThan(5500);
    // Held, and not sent again after the deadline (the SDK's retry was never sent).
    expect(hang.hits).toBe(1);
    // Nothing written: the plan, the claim of the key, the audit log.
    expect((await mirror(orgId)).plan_code).toBe("starter");
    // The key's claim goes once the cut-off work has given up (its retry is refused unsent, at once).
    const claims = () => sql`select 1 from billing_requests where org_id = ${orgId} and idempotency_key like 'upgrade:%'`;
    await until(async () => (await claims()).length === 0, 3000);
    expect(await sql`select 1 from audit_log where org_id = ${orgId} and action = 'plan.upgraded'`).toHaveLength(0);

    // Stripe comes back and runs the request it held, which nobody waits for any more. (Its
    // webhooks wait: converged first, the mirror would show growth and the retry be "already on growth".)
    system.local.setDeliveries("paused");
    hang.clear();
    const growth = await priceOf("growth");
    await until(async () => (await stripe.subscriptions.retrieve(subscriptionId)).items.data[0].price.id === growth);
    const retried = await billing(orgId, "upgrade", { planCode: "growth", prorationDate: preview.body.data.prorationDate }, key);
    expect(retried.status).toBe(200);
    expect(retried.body.data.planCode).toBe("growth");
    expect((await mirror(orgId)).plan_code).toBe("growth");
    // One upgrade: one proration invoice at Stripe, one audit entry.
    const prorations = (await stripe.invoices.list({ subscription: subscriptionId, limit: 100 })).data.filter(
      (i) => i.billing_reason === "subscription_update",
    );
    expect(prorations).toHaveLength(1);
    expect(prorations[0].amount_due).toBe(preview.body.data.amountDueNow);
    expect(await sql`select 1 from audit_log where org_id = ${orgId} and action = 'plan.upgraded'`).toHaveLength(1);
    system.local.setDeliveries("on");
    await until(async () => (await invoicesOf(orgId)).length === invoicesBefore + 1);
  }, 60_000);

  test("checkout, portal and a preview answer 503 within 5.5 s; three timeouts open the breaker; then billing answers at once; a probe closes it", async () => {
    const [subscribed, fresh] = [await newOrg(), await newOrg()];
    await subscribeThroughStripe(subscribed, "starter");
    expect((await stripeCheck()).check).toMatchObject({ status: "ok", required: false, breaker: { state: "closed" } });
    const logsBefore = system.app.logs.length;

    // Every request hangs; the breaker's probe (a list of prices) on a switch of its own.
    hang = system.local.hangRequests({ path: /^\/v1\/(?!prices$)/ });
    probes = system.local.hangRequests({ path: "/v1/prices" });
    const answers = await Promise.all([
      billing(subscribed, "portal"),
      billing(subscribed, "preview", { planCode: "growth" }),
      billing(fresh, "checkout", { planCode: "starter" }),
    ]);
    for (const a of answers) {
      expect([a.status, a.retryAfter, a.body]).toEqual([503, "60", NOT_ANSWERING]);
      expect(a.ms).toBeLessThan(5500);
    }
    // Three timeouts in a row: the breaker is open, in the health check and the metrics.
    const open = await stripeCheck();
    expect(open.status).toBe(200); // not required: quota and usage do not need Stripe
    expect(open.check).toMatchObject({ status: "fail", breaker: { state: "open" } });
    expect(await breakerGauge()).toBe("1");

    // While open: answered at once, and nothing more reaches Stripe (only the probe does).
    const heldBefore = hang.hits;
    for (const [orgId, path, body] of [
      [subscribed, "portal", undefined],
      [subscribed, "upgrade", { planCode: "growth" }],
      [fresh, "checkout", { planCode: "trial" }],
    ] as const) {
      const refused = await billing(orgId, path, body);
      expect([path, refused.status, refused.retryAfter, refused.body]).toEqual([path, 503, "60", NOT_ANSWERING]);
      // (The checkout may first wait out the cut-off one's claim on making the customer: < 1 s.)
      expect(refused.ms).toBeLessThan(1000);
    }
    expect(hang.hits).toBe(heldBefore);
    expect(probes.hits).toBeGreaterThan(0);
    expect((await mirror(subscribed)).plan_code).toBe("starter");

    // Stripe answers again: the next probe closes the breaker, and billing works.
    hang.clear();
    probes.clear();
    await until(async () => (await stripeCheck()).check.breaker.state === "closed", 10_000);
    expect(await breakerGauge()).toBe("0");
    expect((await billing(subscribed, "portal")).status).toBe(200);
    const lines = system.app.logs.slice(logsBefore).map((l) => JSON.parse(l) as { level: string; breaker?: string; reason?: string; msg: string });
    expect(lines.filter((l) => l.breaker === "stripe").map((l) => [l.level, l.msg.split(":")[0]])).toEqual([
      ["warn", "stripe breaker open"],
      ["info", "stripe breaker closed"],
    ]);
    expect(lines.find((l) => l.breaker === "stripe")?.reason).toBe("TIMEOUT");
  }, 60_000);
});
