// "Keep my plan" on the billing page: a cancellation set for the period end (the Stripe portal's
// Cancel plan) is withdrawn in Stripe and in the mirror, through the real app, worker and local
// Stripe; a repeat changes nothing more, and an ended subscription cannot be kept.
import { describe, expect, test } from "bun:test";
import { billingSettled, newOrg, signIn, startBillingSystem, until } from "../../../test/billing";
import { subscribeThroughStripe } from "../ops/sandbox.server";
import { sql } from "../platform/db.server";
import { ensureCustomer, stripe } from "./stripe.server";

const system = startBillingSystem();

async function billingAction(orgId: string, fields: Record<string, string>) {
  const r = await fetch(`${system.app.url}/billing?_data=routes/_portal.billing`, {
    method: "POST",
    headers: { cookie: await signIn(system.app, orgId), origin: system.app.url },
    body: new URLSearchParams(fields),
  });
  return { status: r.status, body: (await r.json()) as { ok: boolean; message?: string; code?: string; error?: string } };
}

async function stripeSubscription(orgId: string) {
  const { customerId } = await ensureCustomer(orgId);
  const [sub] = (await stripe.subscriptions.list({ customer: customerId, status: "all" })).data;
  return sub;
}

const mirrored = async (orgId: string) => (await sql`select status, cancel_at_period_end from subscriptions where org_id = ${orgId}`)[0];
const resumedAudits = async (orgId: string) =>
  (await sql`select count(*)::int as n from audit_log where org_id = ${orgId} and action = 'subscription.resumed'`)[0].n;

describe("keep my plan", () => {
  test("withdraws a cancellation set for the period end, in Stripe and the mirror; a repeat changes nothing more", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    const sub = await stripeSubscription(orgId);
    await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    await until(async () => (await mirrored(orgId))?.cancel_at_period_end === true);

    const kept = await billingAction(orgId, { intent: "keep-subscription" });
    expect(kept.status).toBe(200);
    expect(kept.body.ok).toBe(true);
    expect(kept.body.message).toStartWith("Your plan is no longer set to cancel: it renews on ");
    expect((await stripeSubscription(orgId)).cancel_at_period_end).toBe(false);
    // The mirror is written before the answer, not only when the webhook arrives.
    expect(await mirrored(orgId)).toEqual({ status: "active", cancel_at_period_end: false });
    expect(await resumedAudits(orgId)).toBe(1);

    await billingSettled(system);
    const again = await billingAction(orgId, { intent: "keep-subscription" });
    expect(again.status).toBe(200);
    expect(again.body.message).toStartWith("Your plan was not set to cancel, so there was nothing to keep: it renews on ");
    expect(await mirrored(orgId)).toEqual({ status: "active", cancel_at_period_end: false });
    expect(await resumedAudits(orgId)).toBe(1);
  }, 30_000);

  test("an ended subscription cannot be kept: 402 SUBSCRIPTION_INACTIVE, and nothing changes", async () => {
    const orgId = await newOrg();
    await subscribeThroughStripe(orgId, "starter");
    await stripe.subscriptions.cancel((await stripeSubscription(orgId)).id);
    await until(async () => (await mirrored(orgId))?.status === "canceled");
    const kept = await billingAction(orgId, { intent: "keep-subscription" });
    expect([kept.status, kept.body.code]).toEqual([402, "SUBSCRIPTION_INACTIVE"]);
    expect((await stripeSubscription(orgId)).status).toBe("canceled");
    expect(await resumedAudits(orgId)).toBe(0);
  }, 30_000);
});
