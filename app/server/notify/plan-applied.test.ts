// subscription.updated is news only when a plan is really applied: a new period on another plan
// (or an upgrade, emitted by upgradeNow), never a convergence that flaps within the period.
import { describe, expect, test } from "bun:test";
import { startBillingSystem } from "../../../test/billing";
import { orgWithKey } from "../../../test/factories";
import { applySubscription } from "../billing/converge.server";
import type { PlanCode } from "../billing/plans.server";
import { priceOf } from "../billing/stripe.server";
import { sql } from "../platform/db.server";

// The local Stripe holds the plans' prices that a subscription's state names.
startBillingSystem();

const planEvents = (orgId: string) =>
  sql<{ data: { planCode: string; previousPlanCode: string } }[]>`
    select data from events where org_id = ${orgId} and type = 'subscription.updated' order by created_at`;

describe("subscription.updated", () => {
  test("a mid-period flap to another plan and back emits nothing; the next period on a new plan emits once", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    const [row] = await sql<{ ps: string; pe: string }[]>`select period_start as ps, period_end as pe from subscriptions where org_id = ${orgId}`;
    const s = { ps: new Date(row.ps), pe: new Date(row.pe) };
    const state = async (plan: PlanCode, periodStart: Date, periodEnd: Date) => ({
      id: `sub_${orgId}`,
      customerId: `cus_${orgId}`,
      orgId,
      status: "active",
      priceId: await priceOf(plan),
      interval: "month" as const,
      itemId: "si_x",
      meteredItems: [],
      periodStart,
      periodEnd,
      trialEnd: null,
      cancelAtPeriodEnd: false,
      scheduleId: null,
      scheduledPriceId: null,
      scheduleApplied: false,
      latestInvoiceId: null,
    });
    await applySubscription(orgId, await state("starter", s.ps, s.pe)); // a stale read of Stripe
    await applySubscription(orgId, await state("growth", s.ps, s.pe)); // converged back
    expect((await planEvents(orgId)).length).toBe(0);
    const next = new Date(s.pe.getTime() + 30 * 86_400_000);
    await applySubscription(orgId, await state("starter", s.pe, next)); // renewal on the lower plan
    await applySubscription(orgId, await state("starter", s.pe, next)); // its webhook again
    expect((await planEvents(orgId)).map((e) => [e.data.previousPlanCode, e.data.planCode])).toEqual([["growth", "starter"]]);
  });
});
