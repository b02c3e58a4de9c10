// A paid Checkout reaches the mirror even when its webhooks never come (Stripe gives a delivery up
// after a few retries): the return page converges the org from the session Stripe names in the
// success URL, and the rollover job finds customers Stripe holds a live subscription for while the
// mirror has none. A session id of another org changes nothing and tells nothing.
import { describe, expect, test } from "bun:test";
import { spawn } from "bun";
import { billingSettled, invoicesOf, mirror, newOrg, signIn, startBillingSystem } from "../../../test/billing";
import { sql } from "../platform/db.server";
import { customersToCheck } from "./reconcile.server";

const system = startBillingSystem();

/** Starts Checkout for the signed-in org: the hosted page's URL. */
async function checkout(cookie: string, planCode: string): Promise<string> {
  const r = await fetch(`${system.app.url}/api/v1/billing/checkout`, {
    method: "POST",
    headers: { cookie, origin: system.app.url, "content-type": "application/json" },
    body: JSON.stringify({ planCode }),
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as { data: { url: string } }).data.url;
}

/** Pays on the hosted page: where Stripe sends the browser back to (the success URL). */
async function pay(url: string): Promise<string> {
  const paid = await fetch(url, { method: "POST", body: new URLSearchParams({ card: "4242424242424242" }), redirect: "manual" });
  expect(paid.status).toBe(303);
  return paid.headers.get("location")!;
}

/** A signed-in org that started Checkout and paid it while every webhook was lost. */
async function paidWithEventsLost(planCode = "growth") {
  const orgId = await newOrg();
  const cookie = await signIn(system.app, orgId);
  const url = await checkout(cookie, planCode);
  // The rollover's sweep leaves the org alone for now: only the road under test converges it.
  await sql`update organisations set stripe_checked_at = now() where id = ${orgId}`;
  system.local.setDeliveries("dropped");
  try {
    const returnUrl = await pay(url);
    return { orgId, cookie, returnUrl, sessionId: new URL(returnUrl).searchParams.get("session_id")! };
  } finally {
    system.local.setDeliveries("on");
  }
}

const visit = (url: string, cookie: string) => fetch(url, { headers: { cookie }, redirect: "manual" });

/** Runs the rollover job once in its own process, as the worker's crontab does. */
async function rolloverJob(): Promise<void> {
  const proc = spawn(["bun", "test/run-task.ts", "rollover_periods"], { env: { ...process.env, LOG_LEVEL: "info" }, stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  if (code !== 0) throw new Error(`rollover_periods failed:\n${out}\n${await new Response(proc.stderr).text()}`);
}

describe("a paid Checkout whose webhooks were lost", () => {
  test("the return page converges the org from its session: plan, status and the first invoice, before the page answers", async () => {
    const { orgId, cookie, returnUrl, sessionId } = await paidWithEventsLost("growth");
    expect(sessionId).toStartWith("cs_test_");
    expect(await mirror(orgId)).toBeUndefined();
    const r = await visit(returnUrl, cookie);
    // The session id is used once and dropped from the address: reloads and polls ask Stripe nothing.
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe("/dashboard?checkout=success");
    expect(await mirror(orgId)).toMatchObject({ plan_code: "growth", status: "active" });
    expect((await invoicesOf(orgId)).map((i) => [i.total, i.status])).toEqual([[9900, "paid"]]);
    const page = await visit(`${system.app.url}/dashboard?checkout=success`, cookie);
    expect(await page.text()).toContain("growth");
  });

  test("never back on the return page: the rollover job finds the customer and converges it", async () => {
    const { orgId } = await paidWithEventsLost("starter");
    await sql`update organisations set stripe_checked_at = null where id = ${orgId}`;
    await rolloverJob();
    expect(await mirror(orgId)).toMatchObject({ plan_code: "starter", status: "active" });
    expect((await invoicesOf(orgId)).map((i) => [i.total, i.status])).toEqual([[2900, "paid"]]);
    // Converged, the org is no longer one to look for.
    expect((await customersToCheck(1000)).map((c) => c.orgId)).not.toContain(orgId);
  });

  test("another org's session id, or one Stripe does not know, changes nothing and is answered the same", async () => {
    const a = await paidWithEventsLost("growth");
    const b = await newOrg();
    const bCookie = await signIn(system.app, b);
    const foreign = await visit(`${system.app.url}/dashboard?checkout=success&session_id=${a.sessionId}`, bCookie);
    const unknown = await visit(`${system.app.url}/dashboard?checkout=success&session_id=cs_test_unknown123`, bCookie);
    expect([foreign.status, foreign.headers.get("location")]).toEqual([302, "/dashboard?checkout=success"]);
    expect([unknown.status, unknown.headers.get("location")]).toEqual([foreign.status, foreign.headers.get("location")]);
    expect(await mirror(a.orgId)).toBeUndefined();
    expect(await mirror(b)).toBeUndefined();
    // The owner's own visit still converges it.
    await visit(a.returnUrl, a.cookie);
    expect(await mirror(a.orgId)).toMatchObject({ plan_code: "growth", status: "active" });
  });

  test("webhooks that come after the return page converged change nothing: one subscription, one invoice row", async () => {
    const orgId = await newOrg();
    const cookie = await signIn(system.app, orgId);
    const url = await checkout(cookie, "growth");
    await sql`update organisations set stripe_checked_at = now() where id = ${orgId}`;
    system.local.setDeliveries("paused");
    let returnUrl: string;
    try {
      returnUrl = await pay(url);
      await visit(returnUrl, cookie);
      expect(await mirror(orgId)).toMatchObject({ plan_code: "growth", status: "active" });
    } finally {
      system.local.setDeliveries("on");
    }
    await billingSettled(system);
    const m = await mirror(orgId);
    expect(m).toMatchObject({ plan_code: "growth", status: "active" });
    expect((await invoicesOf(orgId)).map((i) => [i.total, i.status])).toEqual([[9900, "paid"]]);
    const audits = await sql`select action from audit_log where org_id = ${orgId} and action = 'billing.second_live_subscription'`;
    expect(audits).toHaveLength(0);
  });
});

describe("which customers the rollover job asks Stripe about", () => {
  test("an org with a Stripe customer and no live mirror, at most every 5 minutes while its Checkout may be paid, daily after", async () => {
    const orgId = await newOrg();
    const cookie = await signIn(system.app, orgId);
    await checkout(cookie, "starter");
    const due = async () => (await customersToCheck(1000)).some((c) => c.orgId === orgId);
    const set = (checkedAgo: string, startedAgo: string) =>
      sql`update organisations set stripe_checked_at = now() - ${checkedAgo}::interval, checkout_started_at = now() - ${startedAgo}::interval where id = ${orgId}`;
    await sql`update organisations set stripe_checked_at = null where id = ${orgId}`;
    expect(await due()).toBe(true);
    await set("4 minutes", "1 hour");
    expect(await due()).toBe(false);
    await set("6 minutes", "1 hour");
    expect(await due()).toBe(true);
    // A day after its last Checkout started, once a day.
    await set("6 minutes", "2 days");
    expect(await due()).toBe(false);
    await set("25 hours", "2 days");
    expect(await due()).toBe(true);
    // A live mirror: never.
    await sql`insert into subscriptions (org_id, plan_code, status, period_start, period_end)
              values (${orgId}, 'starter', 'active', now(), now() + interval '30 days')`;
    expect(await due()).toBe(false);
  });
});
