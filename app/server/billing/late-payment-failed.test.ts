// A late `invoice.payment_failed` (Stripe redelivers a failed delivery hours later, or out of
// order) for an invoice paid since tells the org nothing: the mirror converged to paid.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { StripeLocal } from "../../../stripe-emulator/index";
import { newOrg, startStripeWithoutWebhooks } from "../../../test/billing";
import { db, schema, sql } from "../platform/db.server";
import { processStripeEvent } from "./converge-events.server";
import { stripe, subscribeWithTestCard } from "./stripe.server";

let local: StripeLocal;
beforeAll(async () => {
  local = await startStripeWithoutWebhooks();
});
afterAll(async () => {
  await local.stop();
});

async function stored(type: string, object: Record<string, unknown>) {
  const id = `evt_late_${crypto.randomUUID().slice(0, 8)}`;
  await sql`insert into stripe_events (id, type, object_id, stripe_created_at, payload)
            values (${id}, ${type}, ${String(object.id)}, now(), ${JSON.stringify({ id, type, data: { object } })}::jsonb)`;
  const [event] = await db.select().from(schema.stripeEvents).where(eq(schema.stripeEvents.id, id));
  return event;
}

describe("a late invoice.payment_failed", () => {
  test("for an invoice Stripe has as paid emits no payment_failed notice", async () => {
    const orgId = await newOrg();
    const subscriptionId = await subscribeWithTestCard({ orgId, planCode: "starter" });
    const sub = await stripe.subscriptions.retrieve(subscriptionId);
    const invoice = await stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(invoice.status).toBe("paid");
    await processStripeEvent(await stored("invoice.payment_failed", { id: invoice.id, object: "invoice", customer: invoice.customer }));
    const [mirrored] = await sql`select status from invoices where id = ${invoice.id!}`;
    expect(mirrored.status).toBe("paid");
    expect(await sql`select type from events where org_id = ${orgId} and type = 'invoice.payment_failed'`).toHaveLength(0);
  });
});
