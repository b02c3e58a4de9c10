// What the billing module loads or creates in Stripe on first use, in a process that has loaded
// nothing yet (this file's module registry is fresh): the plan → price cache is loaded once, whole,
// before anyone reads it, and an org's Stripe customer is made once, even when retried or raced.
import { afterAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import type { StripeLocal } from "../../../stripe-emulator/index";
import { newOrg, startStripeWithoutWebhooks } from "../../../test/billing";
import { sql } from "../platform/db.server";
import { listPlans } from "./plans.server";
import { ensureCustomer, ensurePrices, planOfPrice, priceOf, stripe } from "./stripe.server";

let local: StripeLocal | null = null;
afterAll(async () => {
  await local?.stop();
});

const billed = listPlans().filter((p) => p.billedAs === p.code);

describe("the plan → price cache", () => {
  test("a load that fails is not kept: the next caller loads again", async () => {
    // Stripe is not there yet.
    await expect(ensurePrices()).rejects.toThrow();
    local = await startStripeWithoutWebhooks();
  });

  test("callers arriving while it loads wait for the whole catalog; one load for all of them", async () => {
    // The prices exist in Stripe already (another process made them), so their ids are known.
    const other = new Stripe("sk_test_other", { host: "127.0.0.1", port: local!.port, protocol: "http" });
    const ids = new Map<string, string>();
    for (const p of billed) {
      const price = await other.prices.create({
        currency: p.currency,
        unit_amount: p.priceMonthly,
        recurring: { interval: "month" },
        lookup_key: `metered_plan_${p.code}`,
        product_data: { name: `Metered ${p.name}` },
      });
      ids.set(p.code, price.id);
    }
    const last = billed.at(-1)!;
    let lists = 0;
    let late = null as Promise<unknown[]> | null;
    const onRequest = (r: Stripe.RequestEvent) => {
      if (r.method !== "GET" || !r.path.startsWith("/v1/prices")) return;
      lists++;
      // The load has the first plan's price and asks for the second's: a request arrives now.
      if (!late && r.path.includes(`metered_plan_${billed[1].code}`))
        late = Promise.all([priceOf(last.code), planOfPrice(ids.get(last.code)!, "active"), ensurePrices().then((m) => m.size)]);
    };
    stripe.on("request", onRequest);
    try {
      const loads = await Promise.all([ensurePrices(), ensurePrices(), ensurePrices()]);
      expect(loads[0].size).toBe(billed.length);
      expect(await late).toEqual([ids.get(last.code), last.code, billed.length]);
      // One lookup per price of the one load: each plan's monthly one, and its yearly one if it sells one.
      expect(lists).toBe(billed.length + billed.filter((p) => p.priceYearly !== null).length);
    } finally {
      stripe.off("request", onRequest);
    }
  });
});

describe("the org's Stripe customer", () => {
  test("retried a second after the clock was made but the customer was not: answered, on a test clock", async () => {
    const orgId = await newOrg();
    // The first attempt: Stripe goes away right after making the test clock.
    let stopped: Promise<void> | null = null;
    const onResponse = (r: Stripe.ResponseEvent) => {
      if (r.method === "POST" && r.path === "/v1/test_helpers/test_clocks") stopped ??= local!.stop();
    };
    stripe.on("response", onResponse);
    try {
      await expect(ensureCustomer(orgId)).rejects.toThrow();
    } finally {
      stripe.off("response", onResponse);
    }
    expect(stopped).not.toBeNull();
    await stopped;
    local = await startStripeWithoutWebhooks();
    await Bun.sleep(1100); // the retry's clock would start a second later
    const { customerId, testClockId } = await ensureCustomer(orgId);
    const customer = (await stripe.customers.retrieve(customerId)) as Stripe.Customer;
    expect([customer.metadata.org_id, customer.test_clock]).toEqual([orgId, testClockId]);
    const [org] = await sql`select stripe_customer_id, stripe_test_clock_id from organisations where id = ${orgId}`;
    expect(org).toEqual({ stripe_customer_id: customerId, stripe_test_clock_id: testClockId });
  });

  test("two first uses at once, a second apart: one customer, the same answer", async () => {
    const orgId = await newOrg();
    const release = local!.holdRequests();
    const first = ensureCustomer(orgId);
    await Bun.sleep(1100);
    const second = ensureCustomer(orgId);
    await Bun.sleep(100);
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(b).toEqual(a);
    const made = await sql`select id from stripe_local.objects where type = 'customer' and data->'metadata'->>'org_id' = ${orgId}`;
    expect(made.map((r) => r.id)).toEqual([a.customerId]);
  });
});
