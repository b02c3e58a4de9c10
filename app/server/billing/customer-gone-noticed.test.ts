// A deleted Stripe customer is noticed wherever the app next reads it, without the clock's
// deletion event: a plan change answers SUBSCRIPTION_INACTIVE (never a 500), the rollover's
// convergence ends the mirror, and the next use makes one new customer. A customer Stripe merely
// cannot find, with nothing saying it was deleted (a key of another account looks the same), is
// an error for operators that changes nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type Stripe from "stripe";
import type { StripeLocal } from "../../../stripe-emulator/index";
import { mirror, newOrg, startStripeWithoutWebhooks } from "../../../test/billing";
import { sql } from "../platform/db.server";
import { convergeSubscription } from "./converge.server";
import { CUSTOMER_GONE } from "./customer-gone.server";
import { upgradeNow } from "./plan-change.server";
import { ensureCustomer, stripe, subscribeWithTestCard } from "./stripe.server";

let local: StripeLocal;
beforeAll(async () => {
  local = await startStripeWithoutWebhooks();
});
afterAll(async () => {
  await local.stop();
});

/** An org subscribed to starter, its mirror converged (as the webhook's job would). */
async function subscribedOrg() {
  const orgId = await newOrg();
  const { customerId, testClockId } = await ensureCustomer(orgId);
  const subscriptionId = await subscribeWithTestCard({ orgId, planCode: "starter" });
  await convergeSubscription(subscriptionId);
  expect((await mirror(orgId))?.status).toBe("active");
  return { orgId, customerId, testClockId: testClockId!, subscriptionId };
}
const audits = async (orgId: string) => [...(await sql`select target, details from audit_log where org_id = ${orgId} and action = ${CUSTOMER_GONE}`)];

describe("a customer Stripe deleted, noticed without its event", () => {
  test("a plan change answers SUBSCRIPTION_INACTIVE and ends the mirror; the rollover's convergence agrees; the next use makes one new customer", async () => {
    const org = await subscribedOrg();
    await stripe.testHelpers.testClocks.del(org.testClockId);
    const refused = await upgradeNow(org.orgId, "growth").catch((e) => e);
    expect([refused.code, refused.status]).toEqual(["SUBSCRIPTION_INACTIVE", 402]);
    expect((await mirror(org.orgId))?.status).toBe("canceled");
    // The rollover re-reads the same subscription: no error, nothing new.
    expect(await convergeSubscription(org.subscriptionId)).toBe(org.orgId);
    expect(await audits(org.orgId)).toEqual([{ target: org.customerId, details: { testClockId: org.testClockId, reason: "deleted" } }]);

    const [a, b] = await Promise.all([ensureCustomer(org.orgId), ensureCustomer(org.orgId)]);
    expect(b).toEqual(a);
    expect(a.customerId).not.toBe(org.customerId);
    const made = await sql`select id from stripe_local.objects where type = 'customer' and data->'metadata'->>'org_id' = ${org.orgId} order by seq`;
    expect(made.map((r) => r.id)).toEqual([a.customerId]);
    expect(((await stripe.customers.retrieve(a.customerId)) as Stripe.Customer).test_clock).toBe(a.testClockId);
  });

  test("a customer missing altogether with its clock missing too (deleted with the clock, no trace left) is made again", async () => {
    const org = await subscribedOrg();
    await sql`delete from stripe_local.objects where id in (${org.customerId}, ${org.testClockId})`;
    const again = await ensureCustomer(org.orgId);
    expect(again.customerId).not.toBe(org.customerId);
    expect((await mirror(org.orgId))?.status).toBe("canceled");
    expect(await audits(org.orgId)).toEqual([{ target: org.customerId, details: { testClockId: org.testClockId, reason: "deleted with its test clock" } }]);
  });

  test("a customer Stripe cannot find while its clock is there is not taken as deleted: a clear error, nothing changed", async () => {
    const org = await subscribedOrg();
    // As if STRIPE_SECRET_KEY were another account's: this customer is simply not found.
    await sql`delete from stripe_local.objects where id = ${org.customerId}`;
    await expect(ensureCustomer(org.orgId)).rejects.toThrow(
      `Stripe has no customer ${org.customerId} (organisation ${org.orgId}) and does not say it was deleted: is STRIPE_SECRET_KEY the key of the account it was made in?`,
    );
    expect((await mirror(org.orgId))?.status).toBe("active");
    expect((await sql`select stripe_customer_id from organisations where id = ${org.orgId}`)[0].stripe_customer_id).toBe(org.customerId);
    expect(await audits(org.orgId)).toEqual([]);
  });
});
