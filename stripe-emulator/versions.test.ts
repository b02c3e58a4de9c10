// API versions and the events Stripe sends on its own: responses name their version, events carry
// the SDK's pinned one, a trial's end is announced three days ahead, and the delivery chaos switch
// sends some events twice and out of order.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { type StripeLocal, startStripeLocal } from "./index";

const SECRET = "whsec_versionsTestSecret";
const received: Stripe.Event[] = [];
const receiver = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const body = await req.text();
    received.push(await new Stripe("sk_test_x").webhooks.constructEventAsync(body, req.headers.get("stripe-signature")!, SECRET));
    return new Response("ok");
  },
});

let local: StripeLocal;
let stripe: Stripe;
beforeAll(async () => {
  local = await startStripeLocal({
    port: 0,
    databaseUrl: process.env.DATABASE_URL!,
    schema: "stripe_versions_test",
    webhook: { url: `http://127.0.0.1:${receiver.port}/`, secret: SECRET },
    deliveryChaos: { duplicate: 0.5, reorder: true },
  });
  stripe = new Stripe("sk_test_versions", { host: "127.0.0.1", port: local.port, protocol: "http", maxNetworkRetries: 0 });
});
afterAll(async () => {
  await local.stop();
  receiver.stop(true);
});

describe("API versions and Stripe's own events", () => {
  test("responses carry a Stripe-Version header and events the SDK's pinned api_version", async () => {
    const customer = await stripe.customers.create({ email: "v@example.com" });
    const r = await fetch(`${local.url}/v1/customers/${customer.id}`, { headers: { authorization: "Bearer sk_test_versions" } });
    expect(r.headers.get("stripe-version")).toBe(Stripe.API_VERSION);
    const refused = await fetch(`${local.url}/v1/customers/cus_nobody`, { headers: { authorization: "Bearer sk_test_versions" } });
    expect(refused.headers.get("stripe-version")).toBe(Stripe.API_VERSION);
    const [event] = (await stripe.events.list({ type: "customer.created", limit: 1 })).data;
    expect(event.api_version).toBe(Stripe.API_VERSION);
  });

  test("customer.subscription.trial_will_end is sent three days before a trial ends, once", async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2026, 4, 1) / 1000) });
    const customer = await stripe.customers.create({ email: "t@example.com", test_clock: clock.id });
    const price = await stripe.prices.create({ currency: "usd", unit_amount: 1000, recurring: { interval: "month" }, product_data: { name: "T" } });
    const sub = await stripe.subscriptions.create({
      billing_mode: { type: "classic" },
      customer: customer.id,
      items: [{ price: price.id }],
      trial_period_days: 14,
    });
    const notices = async () =>
      (await stripe.events.list({ type: "customer.subscription.trial_will_end", limit: 100 })).data.filter(
        (e) => (e.data.object as Stripe.Subscription).id === sub.id,
      );
    const ready = async () => {
      while ((await stripe.testHelpers.testClocks.retrieve(clock.id)).status !== "ready") await Bun.sleep(20);
    };
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: sub.trial_end! - 3 * 86_400 - 60 });
    await ready();
    expect(await notices()).toEqual([]);
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: sub.trial_end! - 86_400 });
    await ready();
    const [notice, ...more] = await notices();
    expect(more).toEqual([]);
    expect(notice.created).toBe(sub.trial_end! - 3 * 86_400);
    expect((notice.data.object as Stripe.Subscription).status).toBe("trialing");
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: sub.trial_end! + 3600 });
    await ready();
    expect((await notices()).length).toBe(1);
  });

  test("with delivery chaos on, some events arrive twice and some out of creation order; all arrive", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await stripe.customers.create({ email: `chaos${i}@example.com` })).id);
    await local.flushWebhooks();
    const created = received.filter((e) => e.type === "customer.created" && ids.includes((e.data.object as Stripe.Customer).id));
    const order = created.map((e) => ids.indexOf((e.data.object as Stripe.Customer).id));
    expect(new Set(order).size).toBe(20);
    expect(order.length).toBeGreaterThan(20);
    expect(order.some((x, i) => i > 0 && x < order[i - 1])).toBe(true);
  });
});
