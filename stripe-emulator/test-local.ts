// A local Stripe for one of its own test files: a schema of its own, started before the file's
// tests and stopped after them, and an SDK client for it (no network retries: a test sees every answer).
import { afterAll, beforeAll } from "bun:test";
import Stripe from "stripe";
import { type StripeLocal, type StripeLocalOptions, startStripeLocal } from "./index";

export function localStripeForTests(schema: string, options: Partial<StripeLocalOptions> = {}): { local: StripeLocal; stripe: Stripe } {
  const started = {} as { local: StripeLocal; stripe: Stripe };
  beforeAll(async () => {
    started.local = await startStripeLocal({ port: 0, databaseUrl: process.env.DATABASE_URL!, schema, ...options });
    started.stripe = new Stripe(`sk_test_${schema}`, { host: "127.0.0.1", port: started.local.port, protocol: "http", maxNetworkRetries: 0 });
  });
  afterAll(async () => {
    await started.local.stop();
  });
  return started;
}
