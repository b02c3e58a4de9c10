// Webhook deliveries as Stripe makes them: a failed delivery is retried a few times and then given
// up (Stripe's sandbox retries three times over a few hours; live mode up to three days), and the
// test switch that pauses deliveries (held, then sent) or drops them (lost for good, like the
// events of a disabled endpoint).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { SANDBOX_RETRY_SCHEDULE } from "./events";
import type { StripeLocal } from "./index";
import { localStripeForTests } from "./test-support";

const SECRET = "whsec_deliveriesTestSecret";
/** Every attempt the endpoint saw: event id and the status it answered. */
const attempts: { id: string; type: string; status: number }[] = [];
let answer = 200;
const receiver = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const event = await new Stripe("sk_test_x").webhooks.constructEventAsync(await req.text(), req.headers.get("stripe-signature")!, SECRET);
    attempts.push({ id: event.id, type: event.type, status: answer });
    return new Response("", { status: answer });
  },
});

const started = localStripeForTests("stripe_deliveries_test", {
  webhook: { url: `http://127.0.0.1:${receiver.port}/`, secret: SECRET },
  retrySchedule: [50, 100, 150],
});
let local: StripeLocal;
let stripe: Stripe;
beforeAll(() => {
  ({ local, stripe } = started);
});
afterAll(() => {
  receiver.stop(true);
});

/** The customer.created event of a new customer, by the customer's id. */
async function customerCreated(email: string): Promise<{ customerId: string; eventId: string }> {
  const customer = await stripe.customers.create({ email });
  const events = await stripe.events.list({ type: "customer.created", limit: 100 });
  const event = events.data.find((e) => (e.data.object as Stripe.Customer).id === customer.id)!;
  return { customerId: customer.id, eventId: event.id };
}

const attemptsOf = (eventId: string) => attempts.filter((a) => a.id === eventId);

async function until(condition: () => boolean | Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}

describe("webhook deliveries", () => {
  test("the default schedule is Stripe's sandbox one: three retries over a few hours, each wait longer than the last", () => {
    expect(SANDBOX_RETRY_SCHEDULE).toHaveLength(3);
    expect(SANDBOX_RETRY_SCHEDULE.every((ms, i) => i === 0 || ms > SANDBOX_RETRY_SCHEDULE[i - 1])).toBe(true);
    const total = SANDBOX_RETRY_SCHEDULE.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(2 * 3_600_000);
    expect(total).toBeLessThanOrEqual(6 * 3_600_000);
  });

  test("a delivery that keeps failing is attempted once and retried as many times as the schedule says, then given up", async () => {
    answer = 500;
    const { eventId } = await customerCreated("failing@example.com");
    // Given up: nothing is left pending, although the endpoint never accepted it.
    await local.flushWebhooks(5000);
    answer = 200;
    expect(attemptsOf(eventId).map((a) => a.status)).toEqual([500, 500, 500, 500]);
    // A later event is delivered at once; the given-up one is not tried again.
    const { eventId: later } = await customerCreated("later@example.com");
    await local.flushWebhooks();
    expect(attemptsOf(later).map((a) => a.status)).toEqual([200]);
    expect(attemptsOf(eventId)).toHaveLength(4);
  });

  test("paused: nothing is sent; on again, everything held is delivered", async () => {
    local.setDeliveries("paused");
    const { eventId } = await customerCreated("paused@example.com");
    await expect(local.flushWebhooks(300)).rejects.toThrow("webhooks still pending");
    expect(attemptsOf(eventId)).toEqual([]);
    local.setDeliveries("on");
    await local.flushWebhooks();
    expect(attemptsOf(eventId).map((a) => a.status)).toEqual([200]);
  });

  test("dropped: events created meanwhile are never sent, as for a disabled endpoint; events after are", async () => {
    local.setDeliveries("dropped");
    const lost = await customerCreated("lost@example.com");
    local.setDeliveries("on");
    const kept = await customerCreated("kept@example.com");
    await local.flushWebhooks();
    await until(() => attemptsOf(kept.eventId).length === 1);
    expect(attemptsOf(lost.eventId)).toEqual([]);
    // The event itself exists (events.list shows it), with no webhook left to deliver it.
    expect((await stripe.events.retrieve(lost.eventId)).pending_webhooks).toBe(0);
  });
});
