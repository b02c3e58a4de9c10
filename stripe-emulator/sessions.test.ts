// Checkout sessions expire like Stripe's: `expires_at` is 24 hours after creation unless set
// (30 minutes to 24 hours), and at that time the session expires by itself — `status: expired`,
// no `url`, `checkout.session.expired` sent — and its page refuses payment.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { type StripeLocal, startStripeLocal } from "./index";

let local: StripeLocal;
let stripe: Stripe;
let price: Stripe.Price;
beforeAll(async () => {
  local = await startStripeLocal({ port: 0, databaseUrl: process.env.DATABASE_URL!, schema: "stripe_sessions_test" });
  stripe = new Stripe("sk_test_sessions", { host: "127.0.0.1", port: local.port, protocol: "http", maxNetworkRetries: 0 });
  price = await stripe.prices.create({ currency: "usd", unit_amount: 2900, recurring: { interval: "month" }, product_data: { name: "Starter" } });
});
afterAll(async () => {
  await local.stop();
});

async function customerOnClock() {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Math.floor(Date.UTC(2026, 5, 1, 12) / 1000) });
  const customer = await stripe.customers.create({ email: "s@example.com", test_clock: clock.id });
  return { clock, customer };
}

const session = (customer: string, expires_at?: number) =>
  stripe.checkout.sessions.create({
    mode: "subscription",
    customer,
    line_items: [{ price: price.id, quantity: 1 }],
    success_url: "http://127.0.0.1/ok",
    subscription_data: { billing_mode: { type: "classic" } },
    ...(expires_at ? { expires_at } : {}),
  });

async function untilReady(id: string) {
  for (let i = 0; i < 200; i++) {
    if ((await stripe.testHelpers.testClocks.retrieve(id)).status === "ready") return;
    await Bun.sleep(20);
  }
  throw new Error("the clock never became ready");
}

describe("Checkout session expiry", () => {
  test("expires_at is 24 hours after creation by default; a given one must lie 30 minutes to 24 hours ahead", async () => {
    const { customer } = await customerOnClock();
    const plain = await session(customer.id);
    expect(plain.expires_at - plain.created).toBe(24 * 3600);
    const created = plain.created;
    for (const bad of [created + 29 * 60, created + 24 * 3600 + 60]) {
      const refused = await session(customer.id, bad).catch((e) => e);
      expect([refused.statusCode, refused.rawType, refused.param]).toEqual([400, "invalid_request_error", "expires_at"]);
    }
    expect((await session(customer.id, created + 30 * 60)).expires_at).toBe(created + 30 * 60);
    expect((await session(customer.id, created + 24 * 3600)).expires_at).toBe(created + 24 * 3600);
  });

  test("at expires_at the session expires by itself: status expired, no url, checkout.session.expired, and it cannot be paid", async () => {
    const { clock, customer } = await customerOnClock();
    const s = await session(customer.id, clock.frozen_time + 3600);
    const other = await session(customer.id);
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: clock.frozen_time + 3601 });
    await untilReady(clock.id);
    expect(await stripe.checkout.sessions.retrieve(s.id)).toMatchObject({ status: "expired", url: null });
    expect((await stripe.checkout.sessions.retrieve(other.id)).status).toBe("open");
    const expired = (await stripe.events.list({ type: "checkout.session.expired", limit: 100 })).data.filter(
      (e) => (e.data.object as { id: string }).id === s.id,
    );
    expect(expired.map((e) => e.created)).toEqual([s.expires_at]);
    const paid = await fetch(s.url!, { method: "POST", body: new URLSearchParams({ card: "4242424242424242" }), redirect: "manual" });
    expect(paid.status).toBe(410);
    expect(await stripe.subscriptions.list({ customer: customer.id })).toMatchObject({ data: [] });
    const again = await stripe.checkout.sessions.expire(s.id).catch((e) => e);
    expect([again.statusCode, again.message]).toEqual([400, expect.stringContaining('status in ["open"]')]);
    // The 24-hour one goes a day after its creation, listed as expired from then on.
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: other.expires_at });
    await untilReady(clock.id);
    expect((await stripe.checkout.sessions.list({ customer: customer.id, status: "open" })).data).toEqual([]);
  });
});
