// Stripe deletes a test clock at its deletes_after together with its customer, subscription and
// invoices. Through the real app, worker and local Stripe: the deletion is noticed, the mirror
// ends (usage is refused, not admitted against a subscription that no longer exists), operators
// get one audit entry, and the org's next checkout makes a new customer that subscribes again.
import { expect, test } from "bun:test";
import type Stripe from "stripe";
import { billingApi, billingSettled, mirror, newOrg, startBillingSystem, until } from "../../../test/billing";
import { api, rid } from "../../../test/factories";
import { createApiKey } from "../auth/keys.server";
import { subscribeThroughStripe } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";
import { CUSTOMER_GONE } from "./customer-gone.server";
import { stripe } from "./stripe.server";

const system = startBillingSystem();

const stripeIds = async (orgId: string) =>
  (
    await sql<
      { customer: string; clock: string }[]
    >`select stripe_customer_id as customer, stripe_test_clock_id as clock from organisations where id = ${orgId}`
  )[0];

test("the org's test clock deleted with its customer: the mirror ends, usage is refused; the next checkout makes a new customer, paid and active", async () => {
  const orgId = await newOrg();
  await subscribeThroughStripe(orgId, "starter");
  const before = await stripeIds(orgId);
  const { key } = await createApiKey({ orgId, name: "t" });
  const usage = () => api(system.app.url, key).record({ request_id: rid(), quantity: 1 });
  expect((await usage()).status).toBe(200);

  // What Stripe does at the clock's deletes_after (the local Stripe's sweep runs the same code).
  await stripe.testHelpers.testClocks.del(before.clock);
  const ended = await until(async () => (await mirror(orgId))?.status === "canceled" && (await mirror(orgId)));
  expect(ended.plan_code).toBe("starter");
  await until(async () => (await usage()).status === 402);
  const audit = [...(await sql`select actor, target, details from audit_log where org_id = ${orgId} and action = ${CUSTOMER_GONE}`)];
  expect(audit).toEqual([{ actor: "system", target: before.customer, details: { testClockId: before.clock, reason: "deleted" } }]);

  const billing = await billingApi(system.app, orgId);
  const checkout = await billing("POST", "checkout", { planCode: "growth" });
  expect(checkout.status).toBe(200);
  const after = await stripeIds(orgId);
  expect(after.customer).not.toBe(before.customer);
  expect(after.clock).not.toBe(before.clock);
  const customer = (await stripe.customers.retrieve(after.customer)) as Stripe.Customer;
  expect([customer.metadata.org_id, customer.test_clock]).toEqual([orgId, after.clock]);
  const paid = await fetch(checkout.body.data.url, { method: "POST", body: new URLSearchParams({ card: "4242424242424242" }), redirect: "manual" });
  expect(paid.status).toBe(303);
  const active = await until(async () => (await mirror(orgId))?.status === "active" && (await mirror(orgId)));
  expect(active.plan_code).toBe("growth");
  expect(active.stripe_subscription_id).not.toBe(ended.stripe_subscription_id);
  // Made in the billing mode the app pins.
  expect((await stripe.subscriptions.retrieve(active.stripe_subscription_id)).billing_mode.type).toBe("classic");
  await until(async () => (await usage()).status === 200);
  // Every event converged, none left failing (the old customer's included).
  await billingSettled(system);
  expect([...(await sql`select id, type from stripe_events where processed_at is null`)]).toEqual([]);
  expect((await sql`select 1 from audit_log where org_id = ${orgId} and action = ${CUSTOMER_GONE}`).length).toBe(1);
});
