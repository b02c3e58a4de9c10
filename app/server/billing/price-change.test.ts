// A plan whose amount changed (no `stripePriceId` configured): the price found by its lookup key
// bills the old amount, so a new price is made and takes the lookup key over
// (`transfer_lookup_key`); new Checkouts bill the new amount, while subscriptions on the old
// price stay there and are still known as the plan's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import type { StripeLocal } from "../../../stripe-emulator/index";
import { startStripeWithoutWebhooks } from "../../../test/billing";
import { listPlans } from "./plans.server";
import { ensurePrices, planOfPrice, priceOf } from "./stripe.server";

let local: StripeLocal;
let other: Stripe;
const billed = listPlans().filter((p) => p.billedAs === p.code);
const changed = billed[0];
const old = new Map<string, Stripe.Price>();

beforeAll(async () => {
  local = await startStripeWithoutWebhooks();
  other = new Stripe("sk_test_other", { host: "127.0.0.1", port: local.port, protocol: "http" });
  // The catalog as an earlier release made it: one plan cost less then.
  for (const p of billed) {
    const price = await other.prices.create({
      currency: p.currency,
      unit_amount: p === changed ? p.priceMonthly - 500 : p.priceMonthly,
      recurring: { interval: "month" },
      lookup_key: `metered_plan_${p.code}`,
      product_data: { name: `Metered ${p.name}` },
      metadata: { plan_code: p.code },
    });
    old.set(p.code, price);
  }
});
afterAll(async () => {
  await local.stop();
});

describe("a plan's changed amount", () => {
  test("makes a new price at the plan's amount, which takes the lookup key; the unchanged plans keep theirs", async () => {
    const ids = await ensurePrices();
    const now = await other.prices.retrieve(ids.get(changed.code)!);
    expect(now.id).not.toBe(old.get(changed.code)!.id);
    expect([now.unit_amount, now.currency, now.recurring?.interval, now.lookup_key]).toEqual([
      changed.priceMonthly,
      changed.currency,
      "month",
      `metered_plan_${changed.code}`,
    ]);
    expect(await priceOf(changed.code)).toBe(now.id);
    const before = await other.prices.retrieve(old.get(changed.code)!.id);
    expect([before.active, before.lookup_key, before.unit_amount]).toEqual([true, null, changed.priceMonthly - 500]);
    for (const p of billed.filter((x) => x !== changed)) expect(ids.get(p.code)).toBe(old.get(p.code)!.id);
    const found = await other.prices.list({ lookup_keys: [`metered_plan_${changed.code}`], active: true });
    expect(found.data.map((x) => x.id)).toEqual([now.id]);
  });

  test("a subscription still on the old price is still that plan's", async () => {
    expect(await planOfPrice(old.get(changed.code)!.id, "active")).toBe(changed.code);
    const foreign = await other.prices.create({ currency: "usd", unit_amount: 100, recurring: { interval: "month" }, product_data: { name: "Not ours" } });
    expect(await planOfPrice(foreign.id, "active")).toBeNull();
  });
});
