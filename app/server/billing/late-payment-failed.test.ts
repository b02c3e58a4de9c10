// A late `invoice.payment_failed` (Stripe redelivers a failed delivery hours later, or out of
// order) for an invoice paid since tells the org nothing: the mirror converged to paid.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { StripeLocal } from "../../../stripe-emulator/index";
import { newOrg, startStripeWithoutWebhooks, storedStripeEvent } from "../../../test/billing";
import { sql } from "../platform/db.server";
import { processStripeEvent } from "./converge-events.server";
import { stripe, subscribeWithTestCard } from "./stripe.server";

let local: StripeLocal;
beforeAll(async () => {
  local = await startStripeWithoutWebhooks();
});
afterAll(async () => {
  await local.stop();
});

describe("a late invoice.payment_failed", () => {
  test("for an invoice Stripe has as paid emits no payment_failed notice", async () => {
    const orgId = await newOrg();
    const subscriptionId = await subscribeWithTestCard({ orgId, planCode: "starter" });
    const sub = await stripe.subscriptions.retrieve(subscriptionId);
    const invoice = await stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(invoice.status).toBe("paid");
    await processStripeEvent(await storedStripeEvent("invoice.payment_failed", { id: invoice.id, object: "invoice", customer: invoice.customer }));
    const [mirrored] = await sql`select status from invoices where id = ${invoice.id!}`;
    expect(mirrored.status).toBe("paid");
    expect(await sql`select type from events where org_id = ${orgId} and type = 'invoice.payment_failed'`).toHaveLength(0);
  });
});
