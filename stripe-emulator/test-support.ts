// What tests of the local Stripe share (imported by tests only): a local Stripe of their own, in
// its own schema of the test file's database, with the SDK pointed at it; a webhook endpoint that
// keeps the events it verifies; and a refusal's error.
import { afterAll, beforeAll } from "bun:test";
import Stripe from "stripe";
import { type StripeLocal, type StripeLocalOptions, startStripeLocal } from "./index";

/** Starts before the file's tests and stops after them; read `local` and `stripe` inside tests. */
export function localStripeForTests(schema: string, options: Partial<StripeLocalOptions> = {}): { local: StripeLocal; stripe: Stripe } {
  const t = {} as { local: StripeLocal; stripe: Stripe };
  beforeAll(async () => {
    t.local = await startStripeLocal({ port: 0, databaseUrl: process.env.DATABASE_URL!, schema, ...options });
    t.stripe = new Stripe(`sk_test_${schema}`, { host: "127.0.0.1", port: t.local.port, protocol: "http", maxNetworkRetries: 0 });
  });
  afterAll(async () => {
    await t.local.stop();
  });
  return t;
}

/** The error a request was refused with (the test fails if it was not). */
export const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected Stripe to refuse the request");
    },
    (err: Stripe.errors.StripeError) => err,
  );

/**
 * A webhook endpoint for the file's tests: it verifies each delivery with `secret` as an app
 * would, and keeps the events in `received`, in arrival order. Stops after the file's tests.
 */
export function eventReceiver(secret: string): { url: string; received: Stripe.Event[] } {
  const received: Stripe.Event[] = [];
  const verifier = new Stripe("sk_test_receiver");
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      received.push(await verifier.webhooks.constructEventAsync(await req.text(), req.headers.get("stripe-signature")!, secret));
      return new Response("ok");
    },
  });
  afterAll(() => {
    server.stop(true);
  });
  return { url: `http://127.0.0.1:${server.port}/`, received };
}
