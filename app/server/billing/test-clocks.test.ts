// Test clocks are asked for (STRIPE_TEST_CLOCKS), never implied by the key: the process refuses
// them with a live key at start, an org made with them off has a customer on no clock, and the
// ops command that advances a clock says why it cannot. Run as an operator would, as processes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { spawn } from "bun";
import Stripe from "stripe";
import type { StripeLocal } from "../../../stripe-emulator/index";
import { startStripeWithoutWebhooks } from "../../../test/billing";

const ROOT = join(import.meta.dir, "../../..");
let local: StripeLocal;
beforeAll(async () => {
  local = await startStripeWithoutWebhooks();
});
afterAll(async () => {
  await local.stop();
});

async function run(cmd: string[], env: Record<string, string>) {
  const proc = spawn(cmd, { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "silent", ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out, err };
}
const ops = (env: Record<string, string>, ...args: string[]) => run(["bun", "cli/ops.ts", ...args, "--json"], env);

describe("test clocks are an option", () => {
  test("a live key with STRIPE_TEST_CLOCKS=on is refused at start, naming the variable", async () => {
    const started = await run(["bun", "server.ts"], {
      PORT: "0",
      STRIPE_SECRET_KEY: "sk_live_abc123",
      STRIPE_WEBHOOK_SECRET: "whsec_endpoint123",
      STRIPE_TEST_CLOCKS: "on",
    });
    expect(started.code).toBe(1);
    expect(started.err).toContain("STRIPE_TEST_CLOCKS:");
  });

  test("with STRIPE_TEST_CLOCKS=off an org's customer is on no clock, and clock:advance says test clocks are off", async () => {
    const off = { STRIPE_TEST_CLOCKS: "off" };
    const orgId = `org_tc${Date.now().toString(36)}`;
    const created = await ops(off, "org:create", orgId);
    expect(created.code).toBe(0);
    const org = JSON.parse(created.out);
    expect(org.stripeCustomerId).toMatch(/^cus_/);
    expect(org.stripeTestClockId).toBeNull();
    const stripe = new Stripe("sk_test_local", { host: "127.0.0.1", port: local.port, protocol: "http" });
    const customer = (await stripe.customers.retrieve(org.stripeCustomerId)) as Stripe.Customer;
    expect(customer.test_clock).toBeNull();

    const advanced = await ops(off, "clock:advance", orgId, "1d");
    expect(advanced.code).toBe(1);
    const refusal = JSON.parse(advanced.out);
    expect(refusal.error.code).toBe("VALIDATION_FAILED");
    expect(refusal.error.message).toContain("Test clocks are off (STRIPE_TEST_CLOCKS=off");

    // Turned on since: this org's customer was still made without one, and the message says so.
    const later = await ops({}, "clock:advance", orgId, "1d");
    expect(later.code).toBe(1);
    expect(JSON.parse(later.out).error.message).toContain("was made while test clocks were off");
  });
});
