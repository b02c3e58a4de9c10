// The one module that talks to Stigg (plan metadata and proration previews). Off unless
// STIGG_API_KEY is set. Never on the hot path, never blocking a user action: provisioning runs
// in a job after the database has converged to Stripe (sync order Stripe → DB → Stigg), and a
// failed preview falls back to Stripe's. The SDK sits behind a small port so tests check the
// calls and their payloads without Stigg's network.
import Stigg from "@stigg/node-server-sdk";
import { eq } from "drizzle-orm";
import { config } from "../platform/config.server";
import { db, schema } from "../platform/db.server";
import { log } from "../platform/log.server";

export type StiggPort = Pick<Stigg, "provisionCustomer" | "provisionSubscription" | "previewSubscription">;

let port: StiggPort | null = null;
let initialised = false;

function sdk(): StiggPort | null {
  if (!initialised) {
    initialised = true;
    if (config.STIGG_API_KEY) {
      // Under Bun the SDK needs an explicit cache size (it throws "maxSize must be a positive integer" without one); 10 s per call at most.
      port = Stigg.initialize({ apiKey: config.STIGG_API_KEY, memoryCacheMaxSizeBytes: 64 * 1024 * 1024, timeout: 10_000 } as Parameters<
        typeof Stigg.initialize
      >[0]);
    }
  }
  return port;
}

/** Tests inject a recording port; null turns Stigg off again. */
export function setStiggPort(p: StiggPort | null): void {
  port = p;
  initialised = true;
}

export const stiggEnabled = () => sdk() !== null;

export const stiggPlanId = (planCode: string) => `plan-metered-${planCode}`;

/** Provisions the org and its current plan in Stigg (idempotent on Stigg's side by ids). */
export async function provisionInStigg(input: {
  orgId: string;
  name: string;
  email: string | null;
  stripeCustomerId: string | null;
  planCode: string;
  stripeSubscriptionId: string | null;
  trialing: boolean;
}) {
  const stigg = sdk();
  if (!stigg) return;
  await stigg.provisionCustomer({
    customerId: input.orgId,
    name: input.name,
    email: input.email ?? undefined,
    billingId: input.stripeCustomerId ?? undefined,
    subscriptionParams: null,
  });
  await stigg.provisionSubscription({
    customerId: input.orgId,
    planId: stiggPlanId(input.trialing ? "starter" : input.planCode),
    billingId: input.stripeSubscriptionId ?? undefined,
    skipTrial: !input.trialing,
    awaitPaymentConfirmation: false,
  });
}

/** The stigg_sync job: provisions the org as the database has it now (nothing while it has no subscription). */
export async function syncOrgToStigg(orgId: string): Promise<void> {
  const [org] = await db.select().from(schema.organisations).where(eq(schema.organisations.id, orgId));
  const [sub] = await db.select().from(schema.subscriptions).where(eq(schema.subscriptions.orgId, orgId));
  if (!org || !sub) return;
  await provisionInStigg({
    orgId,
    name: org.name,
    email: org.ownerEmail,
    stripeCustomerId: org.stripeCustomerId,
    planCode: sub.planCode,
    stripeSubscriptionId: sub.stripeSubscriptionId,
    trialing: sub.status === "trialing",
  });
}

const cents = (amount: number | undefined) => Math.round((amount ?? 0) * 100);

/** Stigg's preview of moving the org to `planCode`, in minor units; null when Stigg is off or fails. */
export async function previewInStigg(orgId: string, planCode: string) {
  const stigg = sdk();
  if (!stigg) return null;
  try {
    const p = await stigg.previewSubscription({ customerId: orgId, planId: stiggPlanId(planCode) });
    const proration = p.immediateInvoice.proration;
    return {
      amountDueNow: cents(p.immediateInvoice.total.amount),
      nextInvoiceAmount: cents(p.recurringInvoice?.total.amount),
      nextInvoiceAt: p.billingPeriodRange.end?.toISOString() ?? null,
      lines: proration
        ? [
            { description: "Unused time on the current plan", amount: -cents(proration.credit.amount) },
            { description: "Remaining time on the new plan", amount: cents(proration.debit.amount) },
          ]
        : [],
    };
  } catch (err) {
    log.warn({ err, orgId, planCode }, "stigg preview failed; answering with Stripe's");
    return null;
  }
}
