// The Stigg adapter at its seam: after the database converges to Stripe a job provisions the
// customer and plan in Stigg with the right payloads; previews come from Stigg when it answers
// and from Stripe when it does not.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { type StripeLocal, startStripeLocal } from "../../../stripe-emulator/index";
import { stiggSync } from "../../../worker/stigg-sync";
import { processStripeEvent } from "../billing/converge-events.server";
import { previewPlanChange } from "../billing/plan-change.server";
import { syncPlanCatalog } from "../billing/plans.server";
import { subscribeWithTestCard } from "../billing/stripe.server";
import { createOrg } from "../orgs/orgs.server";
import { db, schema, sql } from "../platform/db.server";
import { type StiggPort, setStiggPort } from "./stigg.server";

let local: StripeLocal;
const calls: { method: string; args: unknown }[] = [];
let previewFails = false;
const fake = {
  provisionCustomer: async (args: unknown) => {
    calls.push({ method: "provisionCustomer", args });
    return {};
  },
  provisionSubscription: async (args: unknown) => {
    calls.push({ method: "provisionSubscription", args });
    return { provisionStatus: "SUCCESS" };
  },
  previewSubscription: async (args: unknown) => {
    calls.push({ method: "previewSubscription", args });
    if (previewFails) throw new Error("stigg timeout");
    return {
      immediateInvoice: {
        total: { amount: 46.77, currency: "usd" },
        subTotal: { amount: 46.77, currency: "usd" },
        totalExcludingTax: { amount: 46.77, currency: "usd" },
        proration: {
          prorationDate: new Date(),
          credit: { amount: 19.35, currency: "usd" },
          debit: { amount: 66.12, currency: "usd" },
          netAmount: { amount: 46.77, currency: "usd" },
        },
      },
      recurringInvoice: {
        total: { amount: 99, currency: "usd" },
        subTotal: { amount: 99, currency: "usd" },
        totalExcludingTax: { amount: 99, currency: "usd" },
      },
      billingPeriodRange: { start: new Date(), end: new Date("2027-01-01T00:00:00Z") },
    };
  },
} as unknown as StiggPort;

beforeAll(async () => {
  await syncPlanCatalog();
  local = await startStripeLocal({ port: Number(process.env.STRIPE_LOCAL_PORT), databaseUrl: process.env.DATABASE_URL! });
  setStiggPort(fake);
});
afterAll(async () => {
  setStiggPort(null);
  await local.stop();
});

async function subscribedOrg() {
  const orgId = `org_g${crypto.randomUUID().slice(0, 8)}`;
  await createOrg({ id: orgId, name: "Stigg Co", email: "owner@stigg.test" });
  const subscriptionId = await subscribeWithTestCard({ orgId, planCode: "starter" });
  // Converge from a stored event, as the worker would.
  const id = `evt_g_${crypto.randomUUID().slice(0, 8)}`;
  await sql`insert into stripe_events (id, type, object_id, stripe_created_at, payload)
            values (${id}, 'customer.subscription.created', ${subscriptionId}, now(), ${JSON.stringify({ data: { object: { id: subscriptionId } } })}::jsonb)`;
  const [event] = await db.select().from(schema.stripeEvents).where(eq(schema.stripeEvents.id, id));
  await processStripeEvent(event);
  return { orgId, subscriptionId };
}

describe("Stigg adapter", () => {
  test("the converged subscription enqueues a Stigg sync, which provisions customer then plan", async () => {
    const { orgId, subscriptionId } = await subscribedOrg();
    const [job] =
      await sql`select j.task_identifier, p.payload from graphile_worker.jobs j join graphile_worker._private_jobs p on p.id = j.id where j.key = ${`stigg:${orgId}`}`;
    expect(job).toMatchObject({ task_identifier: "stigg_sync", payload: { orgId } });
    calls.length = 0;
    await stiggSync({ orgId }, {} as never);
    const [org] = await db.select().from(schema.organisations).where(eq(schema.organisations.id, orgId));
    expect(calls).toEqual([
      {
        method: "provisionCustomer",
        args: { customerId: orgId, name: "Stigg Co", email: "owner@stigg.test", billingId: org.stripeCustomerId, subscriptionParams: null },
      },
      {
        method: "provisionSubscription",
        args: { customerId: orgId, planId: "plan-metered-starter", billingId: subscriptionId, skipTrial: true, awaitPaymentConfirmation: false },
      },
    ]);
  });

  test("a preview comes from Stigg in minor units, or from Stripe when Stigg fails", async () => {
    const { orgId } = await subscribedOrg();
    previewFails = false;
    const viaStigg = await previewPlanChange(orgId, "growth");
    expect(viaStigg).toMatchObject({ source: "stigg", amountDueNow: 4677, nextInvoiceAmount: 9900, nextInvoiceAt: "2027-01-01T00:00:00.000Z" });
    expect(viaStigg.lines).toEqual([
      { description: "Unused time on the current plan", amount: -1935 },
      { description: "Remaining time on the new plan", amount: 6612 },
    ]);
    expect(calls.at(-1)).toEqual({ method: "previewSubscription", args: { customerId: orgId, planId: "plan-metered-growth" } });
    previewFails = true;
    const viaStripe = await previewPlanChange(orgId, "growth");
    expect(viaStripe.source).toBe("stripe");
    expect(viaStripe.amountDueNow).toBeGreaterThan(0);
  });
});
