// One-line setup for tests: an org on a plan with an API key, its subscription mirror without
// Stripe, and small HTTP helpers.
import { addDays, addMonths } from "date-fns";
import { createApiKey } from "../app/server/auth/keys.server";
import { type PlanCode, planByCode, syncPlanCatalog } from "../app/server/billing/plans.server";
import { lockSubscription, upsertSubscription } from "../app/server/billing/subscriptions.server";
import { createOrg, getOrg } from "../app/server/orgs/orgs.server";
import { db, sql } from "../app/server/platform/db.server";

let seq = 0;
let catalogSynced = false;

export async function orgWithKey(opts: { plan?: PlanCode | null; included?: number } = {}) {
  if (!catalogSynced) {
    await syncPlanCatalog();
    catalogSynced = true;
  }
  const orgId = `org_t${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  await createOrg({ id: orgId, name: `Test ${orgId}`, email: "owner@example.com" });
  const plan = opts.plan === undefined ? "starter" : opts.plan;
  if (plan) await setSubscriptionMirror({ orgId, planCode: plan });
  if (plan && opts.included !== undefined) await setIncluded(orgId, opts.included);
  const key = await createApiKey({ orgId, name: "test" });
  return { orgId, key: key.key, keyId: key.id };
}

/**
 * Writes the org's subscription mirror directly, where Stripe is not in the loop (tests, the
 * bench): a one-month period from `start` (default now), `trialing` for the trial's length on
 * `trial`. It goes through the mirror's own writers (subscriptions.server.ts stays the one module
 * that writes the table), taking the org's row lock first as record_usage does.
 */
export async function setSubscriptionMirror(input: { orgId: string; planCode: PlanCode; start?: Date; status?: string }): Promise<void> {
  const plan = planByCode(input.planCode);
  if (!plan) throw new Error(`setSubscriptionMirror: unknown plan "${input.planCode}"`);
  await getOrg(input.orgId);
  const start = input.start ?? new Date();
  const end = plan.trialDays ? addDays(start, plan.trialDays) : addMonths(start, 1);
  await db.transaction(async (tx) => {
    await lockSubscription(tx, input.orgId);
    await upsertSubscription(tx, {
      orgId: input.orgId,
      planCode: plan.code,
      status: input.status ?? (plan.trialDays ? "trialing" : "active"),
      periodStart: start,
      periodEnd: end,
      trialEnd: plan.trialDays ? end : null,
      cancelAtPeriodEnd: false,
      pendingPlanCode: null,
      updatedAt: new Date(),
    });
  });
}

/** Pins the org's subscription to its plan's newest version (as convergence does), or unpins it. */
export async function pinToPlanVersion(orgId: string, pinned = true) {
  await sql`
    update subscriptions s
       set plan_version = case when ${pinned} then (select sold.plan_version from catalog_version_plans sold
                                                     where sold.plan_code = s.plan_code order by sold.catalog_version desc limit 1) end
     where org_id = ${orgId}`;
}

/** Gives the org's current period a counter with `included` units (what an upgrade does). */
export async function setIncluded(orgId: string, included: number) {
  await sql`
    insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
    select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), ${included}, 0
      from subscriptions where org_id = ${orgId}
    on conflict (org_id, metric, period_start) do update set included = excluded.included`;
}

export async function countsOf(orgId: string) {
  const [row] = await sql<{ used: number; ledger: number; rows: number }[]>`
    select coalesce((select sum(used) from usage_counters where org_id = ${orgId}), 0)::int8 as used,
           (select coalesce(sum(quantity), 0) from usage_events where org_id = ${orgId})::int8 as ledger,
           (select count(*) from usage_events where org_id = ${orgId})::int8 as rows`;
  return row;
}

export function api(base: string, key: string) {
  const headers = { authorization: `Bearer ${key}` };
  return {
    quota: (query = "") => fetch(`${base}/api/v1/quota${query}`, { headers }),
    record: (body: unknown, extra: Record<string, string> = {}) =>
      fetch(`${base}/api/v1/usage`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json", ...extra },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
  };
}

export const rid = (label = "r") => `${label}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 10)}`;
