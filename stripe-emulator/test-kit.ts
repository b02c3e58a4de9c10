// What the local Stripe's own test files share: a local Stripe of their own (own schema, any
// free port) with an SDK client for it, and a refused request as a value to look at.
import { afterAll, beforeAll } from "bun:test";
import Stripe from "stripe";
import { type StripeLocal, type StripeLocalOptions, startStripeLocal } from "./index";

/** Starts a local Stripe on `schema` for this file (stopped after it); read it in tests, not at load. */
export function localStripeForFile(schema: string, options: Partial<StripeLocalOptions> = {}) {
  const file = {} as { local: StripeLocal; stripe: Stripe };
  beforeAll(async () => {
    file.local = await startStripeLocal({ port: 0, databaseUrl: process.env.DATABASE_URL!, schema, ...options });
    file.stripe = new Stripe("sk_test_kit", { host: "127.0.0.1", port: file.local.port, protocol: "http", maxNetworkRetries: 0 });
  });
  afterAll(async () => {
    await file.local.stop();
  });
  return file;
}

/** The error a request was refused with (the test fails if it succeeds). */
export const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("the request was not refused");
    },
    (err: Stripe.errors.StripeError) => err,
  );
