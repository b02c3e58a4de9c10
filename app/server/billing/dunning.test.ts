// Failed renewal payments through the real app, worker and local Stripe on test clocks: the
// renewal invoice is a draft for an hour, fails, the org is past_due (usage kept in grace, a
// banner in the portal, listed in /admin), Stripe retries on days 3, 5 and 7, then the
// subscription ends canceled or unpaid per the account setting and usage stops (402).
import { describe, expect, test } from "bun:test";
import { invoicesOf, mirror, newOrg, signIn, startBillingSystem, until } from "../../../test/billing";
import { api, rid } from "../../../test/factories";
import { createApiKey } from "../auth/keys.server";
import { adminOverview } from "../ops/overview.server";
import { advanceOrgClock, subscribeThroughStripe } from "../ops/sandbox.server";
import { ensureCustomer, stripe } from "./stripe.server";

const system = startBillingSystem();
const HOUR = 3600;
const DAY = 86_400;

/** Subscribes with a good card, then makes every later charge fail (4000 0000 0000 0341). */
async function subscribedWithFailingCard() {
  const orgId = await newOrg();
  await subscribeThroughStripe(orgId, "starter");
  const { customerId } = await ensureCustomer(orgId);
  const failing = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", { customer: customerId });
  const [sub] = (await stripe.subscriptions.list({ customer: customerId })).data;
  await stripe.subscriptions.update(sub.id, { default_payment_method: failing.id });
  const key = await createApiKey({ orgId, name: "t" });
  return { orgId, key: key.key, subId: sub.id, periodEnd: sub.items.data[0].current_period_end, customerId };
}

/** Advances the org's clock to `target` (Stripe time, unix seconds). */
async function advanceTo(orgId: string, customerId: string, target: number) {
  const customer = await stripe.customers.retrieve(customerId);
  const clock = await stripe.testHelpers.testClocks.retrieve((customer as { test_clock: string }).test_clock);
  await advanceOrgClock(orgId, `${target - clock.frozen_time}s`);
}

const record = (key: string) => api(system.app.url, key).record({ request_id: rid() });

async function pastDueUntilRetriesEnd() {
  const s = await subscribedWithFailingCard();
  await advanceTo(s.orgId, s.customerId, s.periodEnd + 60);
  // The renewal invoice is a draft for an hour: nothing charged yet, still active.
  expect((await invoicesOf(s.orgId)).map((i) => [i.billing_reason, i.status])).toEqual([
    ["subscription_create", "paid"],
    ["subscription_cycle", "draft"],
  ]);
  expect((await mirror(s.orgId)).status).toBe("active");
  await advanceTo(s.orgId, s.customerId, s.periodEnd + HOUR);
  await until(async () => (await mirror(s.orgId)).status === "past_due");
  expect((await invoicesOf(s.orgId)).at(-1)).toMatchObject({ billing_reason: "subscription_cycle", status: "open", total: 2900 });
  // Inside the grace days usage goes on; the portal and /admin show the failed payment.
  expect((await record(s.key)).status).toBe(200);
  const page = await fetch(`${system.app.url}/dashboard`, { headers: { cookie: await signIn(system.app, s.orgId) } });
  expect(await page.text()).toContain("Your last payment failed — update your card");
  expect((await adminOverview()).pastDue.map((o) => o.id)).toContain(s.orgId);
  // Retries on days 3 and 5 fail too: still past_due.
  await advanceTo(s.orgId, s.customerId, s.periodEnd + HOUR + 5 * DAY);
  expect((await mirror(s.orgId)).status).toBe("past_due");
  const invoice = (await stripe.invoices.list({ subscription: s.subId })).data[0];
  expect([invoice.attempt_count, invoice.next_payment_attempt]).toEqual([3, s.periodEnd + HOUR + 7 * DAY]);
  return s;
}

describe("dunning", () => {
  test("a renewal that keeps failing: past_due with usage in grace, retries, then canceled and usage stops (402)", async () => {
    system.local.setDunning({ retryDays: [3, 5, 7], finalAction: "cancel" });
    const s = await pastDueUntilRetriesEnd();
    await advanceTo(s.orgId, s.customerId, s.periodEnd + HOUR + 7 * DAY);
    await until(async () => (await mirror(s.orgId)).status === "canceled");
    expect((await record(s.key)).status).toBe(402);
    expect((await stripe.invoices.list({ subscription: s.subId })).data[0]).toMatchObject({ status: "open", attempt_count: 4 });
  });

  test("with the unpaid setting: unpaid after the last retry, usage stops, the org stays listed as past due", async () => {
    system.local.setDunning({ retryDays: [3, 5, 7], finalAction: "unpaid" });
    try {
      const s = await pastDueUntilRetriesEnd();
      await advanceTo(s.orgId, s.customerId, s.periodEnd + HOUR + 7 * DAY);
      await until(async () => (await mirror(s.orgId)).status === "unpaid");
      expect((await record(s.key)).status).toBe(402);
      expect((await adminOverview()).pastDue.find((o) => o.id === s.orgId)).toMatchObject({ status: "unpaid" });
    } finally {
      system.local.setDunning({ retryDays: [3, 5, 7], finalAction: "cancel" });
    }
  });

  test("a card declined at attach (4000 0000 0000 0002) subscribes nothing", async () => {
    const orgId = await newOrg();
    const err = await subscribeThroughStripe(orgId, "starter", "declined").catch((e) => e);
    expect(err.code).toBe("card_declined");
    expect(await mirror(orgId)).toBeUndefined();
  });
});
