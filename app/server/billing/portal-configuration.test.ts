// The billing portal runs on the app's own configuration, made through the API: cards, invoice
// history, cancel at the period end, no plan changes (those follow the app's rules, on /billing).
// Stripe refuses a portal session without one; the app makes it once, finds it again after a
// restart and from any number of processes, and names it on every session.
import { describe, expect, test } from "bun:test";
import { startStripeLocal } from "../../../stripe-emulator/index";
import { startApp, type TestApp } from "../../../test/app";
import { mirror, newOrg, signIn, startBillingSystem } from "../../../test/billing";
import { freePort } from "../../../test/ports";
import { subscribeThroughStripe } from "../ops/sandbox.server";
import { LOCAL_WEBHOOK_SECRET, stripe } from "./stripe.server";

const system = startBillingSystem();

async function openPortal(app: TestApp, orgId: string): Promise<string> {
  const cookie = await signIn(app, orgId);
  const r = await fetch(`${app.url}/api/v1/billing/portal`, { method: "POST", headers: { cookie, origin: app.url } });
  expect(r.status).toBe(200);
  return ((await r.json()) as { data: { url: string } }).data.url;
}

/** The configurations the app made (its metadata names them). */
async function appConfigurations() {
  const all = await stripe.billingPortal.configurations.list({ limit: 100 }).autoPagingToArray({ limit: 1000 });
  return all.filter((c) => c.metadata?.metered_portal);
}

describe("the billing portal's configuration", () => {
  test("the portal opens on it: cards, invoices, cancel at the period end, no plan change", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const url = await openPortal(system.app, orgId);
    const [config] = await appConfigurations();
    expect(config).toMatchObject({
      active: true,
      features: {
        payment_method_update: { enabled: true },
        invoice_history: { enabled: true },
        subscription_cancel: { enabled: true, mode: "at_period_end", proration_behavior: "none" },
        subscription_update: { enabled: false },
        customer_update: { enabled: false },
      },
    });
    const page = await (await fetch(url)).text();
    expect(page).toContain("Update card");
    expect(page).toContain("Invoices");
    expect(page).toContain("Cancel plan");
    expect(page).not.toContain("Switch to");
    expect(page).not.toContain("Cancel plan now");
    // Canceling in the portal ends the plan at the period end, never at once.
    await fetch(url, { method: "POST", body: new URLSearchParams({ action: "cancel" }) });
    const sub = await stripe.subscriptions.retrieve((await mirror(orgId)).stripe_subscription_id as string);
    expect(sub).toMatchObject({ status: "active", cancel_at_period_end: true });
  });

  test("made once: three processes starting at once make one, and a restarted app finds it again", async () => {
    // A Stripe account where none exists yet (another schema of the local Stripe, on the same port).
    await system.app.stop();
    await system.local.stop();
    system.local = await startStripeLocal({
      port: Number(process.env.STRIPE_LOCAL_PORT),
      databaseUrl: process.env.DATABASE_URL!,
      schema: "stripe_local_fresh",
      webhook: { url: `${system.app.url}/api/webhooks/stripe`, secret: LOCAL_WEBHOOK_SECRET },
    });
    expect(await appConfigurations()).toEqual([]);
    const apps = await Promise.all([
      startApp(system.env),
      startApp({ ...system.env, PORT: String(freePort()) }),
      startApp({ ...system.env, PORT: String(freePort()) }),
    ]);
    system.app = apps[0];
    try {
      const orgId = await newOrg();
      await Promise.all(apps.map((app) => openPortal(app, orgId)));
    } finally {
      await Promise.all(apps.slice(1).map((o) => o.stop()));
    }
    const made = (await appConfigurations()).map((c) => c.id);
    expect(made).toHaveLength(1);
    await system.app.stop();
    system.app = await startApp(system.env);
    await openPortal(system.app, await newOrg());
    expect((await appConfigurations()).map((c) => c.id)).toEqual(made);
  });
});
