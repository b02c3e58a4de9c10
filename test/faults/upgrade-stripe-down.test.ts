// Stripe unreachable during a plan change, with the app's price cache cold (a fresh process):
// the change answers 503 UPSTREAM_UNAVAILABLE in the envelope, and the process lives on, serving
// quota to every tenant. (The price lookup once rejected with nothing awaiting it, which ended
// the process.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import { subscribeWithTestCard } from "../../app/server/billing/stripe.server";
import { sql } from "../../app/server/platform/db.server";
import type { StripeLocal } from "../../stripe-emulator/index";
import { startApp, type TestApp } from "../app";
import { newOrg, signIn, startStripeWithoutWebhooks } from "../billing";
import { api, orgWithKey, setSubscriptionMirror } from "../factories";

let local: StripeLocal | null;
let app: TestApp;

beforeAll(async () => {
  local = await startStripeWithoutWebhooks();
  app = await startApp();
});
afterAll(async () => {
  await app.stop();
  await local?.stop();
});

/** An org on starter with a real subscription in the local Stripe, mirrored as the webhook would. */
async function subscribedOrg(): Promise<string> {
  const orgId = await newOrg();
  const subscriptionId = await subscribeWithTestCard({ orgId, planCode: "starter" });
  await setSubscriptionMirror({ orgId, planCode: "starter" });
  await sql`update subscriptions set stripe_subscription_id = ${subscriptionId} where org_id = ${orgId}`;
  return orgId;
}

const isAlive = (a: TestApp) => a.proc.exitCode === null && a.proc.signalCode === null;

test("upgrade, downgrade and cancel with Stripe down answer 503 in the envelope; the app keeps serving quota", async () => {
  const [upgrading, downgrading] = [await subscribedOrg(), await subscribedOrg()];
  await sql`update subscriptions set plan_code = 'growth', pending_plan_code = 'starter' where org_id = ${downgrading}`;
  const tenant = await orgWithKey();
  await local!.stop();
  local = null;

  const calls: [string, string, string, unknown][] = [
    [upgrading, "POST", "upgrade", { planCode: "pro" }],
    [downgrading, "POST", "downgrade", { planCode: "starter" }],
    [downgrading, "DELETE", "downgrade", undefined],
  ];
  for (const [orgId, method, path, body] of calls) {
    const r = await fetch(`${app.url}/api/v1/billing/${path}`, {
      method,
      headers: { cookie: await signIn(app, orgId), origin: app.url, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect({ call: `${method} ${path}`, status: r.status, body: await r.json() }).toEqual({
      call: `${method} ${path}`,
      status: 503,
      body: { ok: false, error: { code: "UPSTREAM_UNAVAILABLE", message: expect.any(String), details: {} } },
    });
  }

  // The price lookup that failed alongside is settled by now; the process must still be here.
  await Bun.sleep(1500);
  expect(isAlive(app)).toBe(true);
  const quota = await api(app.url, tenant.key).quota();
  expect(quota.status).toBe(200);
  expect(((await quota.json()) as any).data.allow).toBe(true);
  // Fixed at the cause: no rejection went unhandled (the process guard had nothing to catch).
  expect(app.logs.filter((l) => l.includes("unhandled error"))).toEqual([]);
  // Nothing changed: the failed upgrade left the plan, the failed downgrade its schedule.
  const rows = await sql`select org_id, plan_code, pending_plan_code from subscriptions where org_id in (${upgrading}, ${downgrading}) order by org_id`;
  expect(Object.fromEntries(rows.map((r) => [r.org_id, [r.plan_code, r.pending_plan_code]]))).toEqual({
    [upgrading]: ["starter", null],
    [downgrading]: ["growth", "starter"],
  });
}, 60_000);
