// Convergence: make the database match Stripe's current state. Every function re-reads the object
// from Stripe, so events that arrive late, twice or out of order all end in the same state.
// Used by the worker's jobs (never by the hot path); which stored events a job converges together
// is converge-events.server.ts.
import { and, eq } from "drizzle-orm";
import { isLive } from "../../subscription-status";
import { includedOf } from "../domain/catalog.server";
import { appendAudit } from "../events/audit.server";
import { emitPlanApplied } from "../notify/stripe-facts.server";
import { db, schema, sql, type Tx } from "../platform/db.server";
import { AppError } from "../platform/errors.server";
import { jobPayload } from "../platform/jobs.server";
import { log } from "../platform/log.server";
import { stiggEnabled } from "../stigg/stigg.server";
import { setPeriodUnits } from "../usage/counters.server";
import { planVersionFor, planVersionTerms } from "./catalog.server";
import { grantPaidTopUp, paidTopUpOf } from "./credit-grants.server";
import { planByCode, refreshCatalog } from "./plans.server";
import { releaseSchedule } from "./schedules.server";
import { customerGone, intervalOfPrice, isResourceMissing, isStripeUnavailable, planOfPrice } from "./stripe.server";
import { retrieveInvoice, retrieveSubscription, type SubscriptionState } from "./stripe-subscriptions.server";
import { retrieveTopUpSession } from "./stripe-top-ups.server";
import { allowancePeriod, lockSubscription, overdueSubscriptions, rollForwardLocally, upsertSubscription } from "./subscriptions.server";

async function orgOfCustomer(customerId: string, fallback: string | null): Promise<string> {
  const [org] = await db.select({ id: schema.organisations.id }).from(schema.organisations).where(eq(schema.organisations.stripeCustomerId, customerId));
  if (org) return org.id;
  if (fallback) {
    const [byId] = await db.select({ id: schema.organisations.id }).from(schema.organisations).where(eq(schema.organisations.id, fallback));
    if (byId) return byId.id;
  }
  throw new Error(`no organisation for Stripe customer ${customerId}`);
}

/**
 * Upserts the subscription mirror and the counter of its current period from Stripe. A schedule
 * that has applied its downgrade is released here, so the subscription goes on by itself.
 */
export async function convergeSubscription(subscriptionId: string): Promise<string | null> {
  let state: SubscriptionState;
  try {
    state = await retrieveSubscription(subscriptionId);
  } catch (err) {
    if (!isResourceMissing(err)) throw err;
    return subscriptionGone(subscriptionId, err);
  }
  return convergeSubscriptionState(state);
}

/** convergeSubscription for a state just read from Stripe. */
export async function convergeSubscriptionState(state: SubscriptionState): Promise<string> {
  const orgId = await orgOfCustomer(state.customerId, state.orgId);
  const mirrored = await applySubscription(orgId, state);
  if (mirrored) await secondLiveSubscription(orgId, mirrored, state);
  if (state.scheduleApplied && state.scheduleId) await releaseSchedule(state.scheduleId);
  return orgId;
}

/**
 * Stripe has no such subscription (`missing`, its answer). When it is an org's mirrored one, its
 * customer went with it (deleted, or with its test clock): the mirror ends (noteGoneCustomer).
 * One no mirror holds (an old one) needs nothing. Anything unexplained is thrown, nothing changed.
 * Answers the org, if any.
 */
async function subscriptionGone(subscriptionId: string, missing: unknown): Promise<string | null> {
  const [org] = await db
    .select({
      id: schema.organisations.id,
      customerId: schema.organisations.stripeCustomerId,
      clockId: schema.organisations.stripeTestClockId,
      status: schema.subscriptions.status,
    })
    .from(schema.subscriptions)
    .innerJoin(schema.organisations, eq(schema.organisations.id, schema.subscriptions.orgId))
    .where(eq(schema.subscriptions.stripeSubscriptionId, subscriptionId));
  if (!org) {
    log.warn({ subscriptionId }, "convergence: Stripe has no such subscription and no organisation mirrors it; nothing to do");
    return null;
  }
  if (!org.customerId) throw missing;
  const gone = await customerGone({ id: org.id, stripeCustomerId: org.customerId, stripeTestClockId: org.clockId });
  if (!gone && isLive(org.status))
    throw new Error(`Stripe has no subscription ${subscriptionId}, which organisation ${org.id} mirrors as ${org.status}, yet its customer exists`);
  return org.id;
}

/** The org's mirrored subscription, as Stripe has it; one Stripe deleted (with its customer) is SUBSCRIPTION_INACTIVE. */
export async function retrieveMirrored(subscriptionId: string): Promise<SubscriptionState> {
  try {
    return await retrieveSubscription(subscriptionId);
  } catch (err) {
    if (!isResourceMissing(err) || !(await subscriptionGone(subscriptionId, err))) throw err;
    throw new AppError(
      "SUBSCRIPTION_INACTIVE",
      "Stripe no longer has this organisation's subscription (it was deleted with its customer); start a new one with Checkout.",
    );
  }
}

/** A test clock Stripe deleted: the customers on it went too (its orgs' next use makes new ones). */
export async function testClockGone(clockId: string): Promise<string | null> {
  const orgs = await db.select().from(schema.organisations).where(eq(schema.organisations.stripeTestClockId, clockId));
  let last: string | null = null;
  for (const org of orgs) {
    if (!org.stripeCustomerId) continue;
    await customerGone({ ...org, stripeCustomerId: org.stripeCustomerId });
    last = org.id;
  }
  return last;
}

/**
 * Writes Stripe's state to the mirror: the plan of the subscription's price, and the pending
 * plan of its schedule's next phase (a scheduled downgrade), which the hot path's boundary rule
 * applies once the period ends, even before the renewal webhook arrives.
 */
export async function applySubscription(orgId: string, state: SubscriptionState): Promise<string | null> {
  await refreshCatalog();
  const planCode = await planOfPrice(state.priceId, state.status);
  if (!planCode) throw new Error(`Stripe price ${state.priceId} is not a price of the catalog`);
  const scheduled = state.scheduledPriceId && isLive(state.status) ? await planOfPrice(state.scheduledPriceId, "active") : null;
  const scheduledInterval = scheduled && state.scheduledPriceId ? await intervalOfPrice(state.scheduledPriceId) : null;
  return db.transaction(async (tx) => {
    // The same lock every usage writer takes first (see record_usage).
    const current = await lockSubscription(tx, orgId);
    if (current?.stripeSubscriptionId && current.stripeSubscriptionId !== state.id && isLive(current.status)) {
      // An org has one subscription that matters: an old, dead one never replaces a live one,
      // and a second live one is not silently swapped in (the caller reports it).
      return isLive(state.status) ? current.stripeSubscriptionId : null;
    }
    // Grandfathering: the same plan keeps the version it was bought on; a new one starts on its newest.
    // A version move waiting for the renewal (catalog:migrate --at renewal) applies when Stripe
    // starts a later period on the same plan.
    const renewed = current !== undefined && state.periodStart.getTime() > current.periodStart.getTime();
    const moving = current?.planCode === planCode ? (current.pendingPlanVersion ?? null) : null;
    // A schedule to another price of the same plan is either a version move (catalog:migrate,
    // which notes pending_plan_version) or a change of interval (yearly → monthly), a pending change.
    const pending = scheduled === planCode && moving !== null ? null : scheduled;
    const planVersion = moving !== null && renewed ? moving : await planVersionFor(tx, { planCode, priceId: state.priceId, mirrored: current });
    const row = {
      orgId,
      stripeSubscriptionId: state.id,
      planCode,
      planVersion,
      status: state.status,
      periodStart: state.periodStart,
      periodEnd: state.periodEnd,
      trialEnd: state.trialEnd,
      cancelAtPeriodEnd: state.cancelAtPeriodEnd,
      pendingPlanCode: pending,
      pendingBillingInterval: pending === null ? null : scheduledInterval,
      pendingPlanVersion: renewed ? null : moving,
      billingInterval: state.interval,
      stripeUpdatedAt: new Date(),
      updatedAt: new Date(),
    };
    await upsertSubscription(tx, row);
    // A new period on another plan (a downgrade applied, a trial converted). Within a period
    // only upgradeNow applies a plan; a stale convergence that briefly writes another is not news.
    const samePeriod = current !== undefined && current.periodStart.getTime() === state.periodStart.getTime();
    if (current && !samePeriod && current.planCode !== planCode && isLive(state.status)) await emitPlanApplied(tx, current.planCode, row);
    if (!isLive(state.status)) return null;
    // A yearly subscription's units reset monthly: its counter is the allowance month's.
    const period = state.interval === "year" ? await allowancePeriod(tx, orgId) : null;
    // Every metered feature the version grants gets the period's counter with its units.
    for (const [metric, included] of Object.entries(await includedUnitsOf(tx, planCode, planVersion)))
      await setPeriodUnits(tx, {
        orgId,
        metric,
        periodStart: period?.periodStart ?? state.periodStart,
        periodEnd: period?.periodEnd ?? state.periodEnd,
        included,
      });
    return null;
  });
}

/** The units of each metered feature the plan version grants (the current catalog's plan when none is recorded yet). */
async function includedUnitsOf(tx: Tx, planCode: string, planVersion: number | null): Promise<Record<string, number>> {
  const terms = planVersion === null ? null : await planVersionTerms(tx, planCode, planVersion);
  if (!terms) return planByCode(planCode)?.includedUnits ?? {};
  const metered = Object.entries(terms.features).filter(([, grant]) => typeof grant === "object" && grant !== null && "included" in grant);
  return Object.fromEntries(metered.map(([feature]) => [feature, includedOf(terms, feature)]));
}

/**
 * The counters of yearly subscriptions' allowance months, made before their first usage: the
 * current month and the next one within the billed year, with the units of the subscription's
 * plan version (record_usage would take plan_units, the current catalog's, for a counter it
 * makes itself). Run every minute by the rollover job, so a month's counter is there a month
 * ahead; one made meanwhile by record_usage gets its version's units here. At most 500 a run.
 */
export async function openAllowanceMonths(): Promise<number> {
  const months = await sql<{ org_id: string; plan_code: string; plan_version: number | null; start_ms: number; end_ms: number }[]>`
    select s.org_id, s.plan_code, s.plan_version,
           extract(epoch from month.period_start) * 1000 as start_ms, extract(epoch from month.period_end) * 1000 as end_ms
      from subscriptions s
     cross join lateral (select p.period_start, p.period_end from org_period(s, now(), interval '0') p) current_month
     cross join lateral (select current_month.period_start, current_month.period_end
                         union all
                         select p.period_start, p.period_end from org_period(s, current_month.period_end, interval '0') p) month
     where s.billing_interval = 'year' and is_live(s.status)
       and month.period_start >= s.period_start and month.period_start < s.period_end
       and not exists (select 1 from usage_counters counter
                        where counter.org_id = s.org_id and counter.metric = 'api_call' and counter.period_start = month.period_start
                          and counter.included = coalesce((select grant_row.included from plan_version_features grant_row
                                                            where grant_row.plan_code = s.plan_code and grant_row.version = s.plan_version
                                                              and grant_row.feature = 'api_call'), counter.included))
     limit 500`;
  for (const month of months) {
    await db.transaction(async (tx) => {
      // The same lock every usage writer takes first (see record_usage).
      const current = await lockSubscription(tx, month.org_id);
      if (!current || current.planCode !== month.plan_code || current.planVersion !== month.plan_version) return;
      for (const [metric, included] of Object.entries(await includedUnitsOf(tx, month.plan_code, month.plan_version)))
        await setPeriodUnits(tx, {
          orgId: month.org_id,
          metric,
          periodStart: new Date(Number(month.start_ms)),
          periodEnd: new Date(Number(month.end_ms)),
          included,
        });
    });
  }
  return months.length;
}

const SECOND_LIVE = "billing.second_live_subscription";

/**
 * A live subscription of an org whose mirror holds another live one. If Stripe says the mirrored
 * one has ended (its webhook is late), the mirror follows and the new one takes its place.
 * Otherwise the org really pays twice: the mirror keeps the first, and operators are told (a log
 * error each time, one audit entry per subscription). Nothing is canceled automatically: which
 * one to keep, and any refund, is a person's decision.
 */
async function secondLiveSubscription(orgId: string, mirrored: string, state: SubscriptionState): Promise<void> {
  const theirs = await retrieveSubscription(mirrored).catch((err) => {
    if (isStripeUnavailable(err)) throw err;
    return null;
  });
  let kept: string | null = mirrored;
  if (theirs && !isLive(theirs.status)) {
    await applySubscription(orgId, theirs);
    kept = await applySubscription(orgId, state);
    if (!kept) return;
  }
  log.error(
    { orgId, mirroredSubscriptionId: kept, otherSubscriptionId: state.id },
    "billing: the organisation has two live Stripe subscriptions; the mirror keeps the first, the other is billed but grants nothing",
  );
  await db.transaction(async (tx) => {
    // Under the org's row lock, so two workers converging at once write one entry.
    await lockSubscription(tx, orgId);
    const [seen] = await tx
      .select({ id: schema.auditLog.id })
      .from(schema.auditLog)
      .where(and(eq(schema.auditLog.orgId, orgId), eq(schema.auditLog.action, SECOND_LIVE), eq(schema.auditLog.target, state.id)))
      .limit(1);
    if (!seen) await appendAudit({ orgId, actor: "system", action: SECOND_LIVE, target: state.id, details: { mirroredSubscriptionId: kept } }, tx);
  });
}

/** Upserts the invoice mirror from Stripe. */
export async function convergeInvoice(invoiceId: string): Promise<string | null> {
  // An invoice Stripe deleted since (with its customer's test clock) leaves its mirror row as it was.
  const inv = await retrieveInvoice(invoiceId).catch((err) => (isResourceMissing(err) ? null : Promise.reject(err)));
  if (!inv) return null;
  const orgId = await orgOfCustomer(inv.customerId, null);
  const row = {
    id: inv.id,
    orgId,
    stripeSubscriptionId: inv.subscriptionId,
    number: inv.number,
    status: inv.status,
    billingReason: inv.billingReason,
    currency: inv.currency,
    amountDue: inv.amountDue,
    amountPaid: inv.amountPaid,
    total: inv.total,
    periodStart: inv.periodStart,
    periodEnd: inv.periodEnd,
    hostedInvoiceUrl: inv.hostedInvoiceUrl,
    invoicePdf: inv.invoicePdf,
    stripeCreatedAt: inv.created,
    updatedAt: new Date(),
  };
  await db.insert(schema.invoices).values(row).onConflictDoUpdate({ target: schema.invoices.id, set: row });
  // A paid top-up invoice grants its credits, once whoever gets here first (credit-grants.server.ts).
  const topUp = paidTopUpOf(orgId, { id: inv.id, paid: inv.status === "paid", amountPaid: inv.amountPaid, currency: inv.currency, metadata: inv.metadata });
  if (topUp) await grantPaidTopUp(topUp);
  return inv.subscriptionId;
}

/**
 * A payment-mode Checkout Session (a top-up bought without a saved card): once Stripe says it is
 * complete and paid, its credits are granted, once. Answers the org, or null for a session of
 * no known org or one Stripe deleted since.
 */
export async function convergeTopUpSession(sessionId: string): Promise<string | null> {
  const session = await retrieveTopUpSession(sessionId).catch((err) => (isResourceMissing(err) ? null : Promise.reject(err)));
  if (!session) return null;
  const orgId = await orgOfCustomer(session.customerId, null);
  const topUp = paidTopUpOf(orgId, session);
  if (topUp) await grantPaidTopUp(topUp);
  return orgId;
}

/**
 * Stripe → DB → Stigg: the database has converged for the org; Stigg follows in its own job. The
 * jobs wait in four queues (by org), so a Stigg that hangs holds at most four of the worker's
 * outbound slots, never the webhooks' (worker/index.ts).
 */
export async function followInStigg(orgId: string): Promise<void> {
  if (!stiggEnabled()) return;
  await sql`select graphile_worker.add_job('stigg_sync', ${jobPayload("stigg_sync", { orgId })}::text::json, job_key := ${`stigg:${orgId}`}::text,
              queue_name := 'stigg:' || abs(hashtext(${orgId}) % 4), max_attempts := 10)`;
}

/**
 * The safety net for a renewal whose webhook never came: re-read every subscription whose
 * period ended over a minute ago. If Stripe cannot be reached (or the subscription is not from
 * Stripe), roll the mirror forward with the hot path's own rule (org_period) so the mirror never
 * disagrees with what usage is counted in. Any other failure is logged and the period left for
 * the next run: Stripe answered, so rolling locally would guess against its word.
 */
export async function rolloverOverduePeriods(graceDays: number): Promise<{ converged: number; rolledLocally: number; failed: number }> {
  const overdue = await overdueSubscriptions();
  let converged = 0;
  let rolledLocally = 0;
  let failed = 0;
  for (const s of overdue) {
    if (s.stripe_subscription_id) {
      try {
        await convergeSubscription(s.stripe_subscription_id);
        converged++;
        continue;
      } catch (err) {
        if (!isStripeUnavailable(err)) {
          log.error(
            { err, orgId: s.org_id, subscriptionId: s.stripe_subscription_id },
            "rollover: could not converge an overdue period; left for the next run",
          );
          failed++;
          continue;
        }
      }
    }
    // Not from Stripe, or Stripe unreachable: the hot path's own rule.
    await rollForwardLocally(s.org_id, graceDays);
    rolledLocally++;
  }
  return { converged, rolledLocally, failed };
}
