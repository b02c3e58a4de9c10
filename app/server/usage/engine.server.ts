// The usage engine: the quota check and the exact, idempotent usage record.
// Admission and idempotency are decided in Postgres (record_usage and friends, db/functions/);
// this module hands concurrent requests to the group commit (one statement per batch), and
// decisions.server.ts shapes the answers. No Stripe, Stigg or Clerk call happens here, ever.
import type { z } from "zod";
import type { quotaSummary, UsageBody } from "../api/schemas.server";
import { oneMoreOverageUnitFits, overageChargeCents } from "../domain/overage.server";
import type { Metric } from "../domain/vocabulary.server";
import { observeBatch } from "../observe/metrics.server";
import { cacheConfigured, cacheDel, cacheGet, cacheSet } from "../platform/cache.server";
import { config } from "../platform/config.server";
import { databaseBreaker, hotSql, noteDatabaseError, withinHotDeadline } from "../platform/db.server";
import { FeatureNotInPlan, ServiceUnavailable, SubscriptionInactive, unknownMetric } from "../platform/errors.server";
import {
  createRoomHint,
  type DecisionRow,
  decide,
  follow,
  iso,
  type PartRow,
  periodKeyOf,
  type RecordResult,
  type UsageRecord,
  type UsageRequest,
} from "./decisions.server";
import { createGroupCommit, type Queued } from "./group-commit.server";

const GRACE = `${config.PAST_DUE_GRACE_DAYS} days`;
const QUOTA_CACHE_TTL_MS = 1000;

/** The quota check's answer (the API's `QuotaSummary`). */
export type QuotaSummary = z.infer<typeof quotaSummary>;

// used and included are null when the plan does not grant the metric; used too when the catalog
// does not meter it (quota_of). The overage columns are null when the plan sells none.
type QuotaRow = {
  plan_code: string;
  status: string;
  live: boolean;
  ps: number;
  pe: number;
  used: number | null;
  included: number | null;
  credit_used: number;
  overage_used: number;
  credits_left: number;
  overage_price_cents: number | null;
  overage_per: number | null;
  cap_cents: number | null;
  capped: boolean | null;
  org_overage_cents: number | null;
};

/** A counter as the answer is made from it (quota_of's row without the period's bounds). */
type Counted = Omit<QuotaRow, "ps" | "pe">;

/** period_counter_of's row: the period, the plan version it is on, and the metric's counter (null columns: none yet). */
type LeanQuotaRow = {
  plan_code: string;
  plan_version: number | null;
  billing_interval: string;
  status: string;
  live: boolean;
  plain: boolean;
  ps: number;
  pe: number;
} & CounterColumns;

/** A period's counter as the hot reads return it (period_counter_of, period_usage_of); null columns: none yet. */
export type CounterColumns = {
  used: number | null;
  included: number | null;
  credit_used: number | null;
  overage_used: number | null;
  overage_price_cents: number | null;
  overage_per: number | null;
};

/** What a plan version grants a metered feature: its units and the overage it sells (null: none). */
type Grant = { included: number; overage_price_cents: number | null; overage_per: number | null };

// What a plan version grants a metric (null: nothing), keyed by plan code, version and metric.
// Published plan versions never change, so an entry never goes stale; a handful of plans.
const grants = new Map<string, Grant | null>();
const MAX_GRANTS = 10_000;
let quotaOfReads = 0;

/** How many quota checks this process answered with quota_of, not period_counter_of alone (tests). */
export function quotaChecksReadFully(): number {
  return quotaOfReads;
}

/** Forgets the plan versions' grants this process keeps (tests). */
export function clearQuotaGrants(): void {
  grants.clear();
}

/** What the plan version grants the metric before its period has a counter (read once per process). */
async function grantOf(planCode: string, planVersion: number, metric: string): Promise<Grant | null> {
  const key = `${planCode}\u0000${planVersion}\u0000${metric}`;
  const kept = grants.get(key);
  if (kept !== undefined) return kept;
  const [row] = await withinHotDeadline(hotSql<Grant[]>`
    select included, overage_price_cents, overage_per from plan_version_features
     where plan_code = ${planCode} and version = ${planVersion}::int and feature = ${metric}`);
  const grant = row && row.included !== null ? row : null;
  if (grants.size >= MAX_GRANTS) grants.clear();
  grants.set(key, grant);
  return grant;
}

/**
 * The quota check: one read of the org's period and counter (or the Redis copy, at most 1 s old).
 * Throws SubscriptionInactive, FeatureNotInPlan, or VALIDATION_FAILED for a metric the catalog does not meter.
 */
export async function quotaFor(orgId: string, metric: Metric): Promise<QuotaSummary> {
  const cacheKey = `quota:${orgId}:${metric}`;
  if (cacheConfigured) {
    const cached = await cacheGet(cacheKey);
    if (cached) return JSON.parse(cached) as QuotaSummary;
  }
  const summary = (await leanQuota(orgId, metric)) ?? (await fullQuota(orgId, metric));
  if (cacheConfigured) cacheSet(cacheKey, JSON.stringify(summary), QUOTA_CACHE_TTL_MS);
  return summary;
}

/**
 * The check from period_counter_of alone, for an org without credits, on the plan version its
 * subscription is pinned to, whose metric's spend cap does not decide `allow` (no overage sold,
 * or included units left); null otherwise (quota_of answers). SubscriptionInactive without a live subscription.
 */
async function leanQuota(orgId: string, metric: Metric): Promise<QuotaSummary | null> {
  const [row] = await withinHotDeadline(hotSql<LeanQuotaRow[]>`
    select plan_code, plan_version, billing_interval, status, live, plain, epoch_ms(period_start) as ps,
           epoch_ms(period_end) as pe, used, included, credit_used, overage_used, overage_price_cents, overage_per
      from period_counter_of(${orgId}, ${metric}, ${GRACE}::interval)`);
  if (!row?.live) throw new SubscriptionInactive(row?.status ?? null);
  if (!row.plain) return null;
  const noCap = { credits_left: 0, cap_cents: null, capped: null, org_overage_cents: null };
  let counter: Counted;
  if (row.used !== null) {
    const { used, included, credit_used, overage_used, overage_price_cents, overage_per } = row;
    counter = {
      ...noCap,
      plan_code: row.plan_code,
      status: row.status,
      live: true,
      used,
      included,
      credit_used: credit_used!,
      overage_used: overage_used!,
      overage_price_cents,
      overage_per,
    };
  } else {
    const grant = await grantOf(row.plan_code, row.plan_version!, metric);
    // Not granted: quota_of tells a feature outside the plan from one the catalog does not meter.
    if (grant === null) return null;
    // overage_price_of's rule: sold on monthly prices only, with a usable per.
    const sold = row.billing_interval === "month" && grant.overage_price_cents !== null && grant.overage_per !== null && grant.overage_per > 0;
    counter = {
      ...noCap,
      plan_code: row.plan_code,
      status: row.status,
      live: true,
      used: 0,
      included: grant.included,
      credit_used: 0,
      overage_used: 0,
      overage_price_cents: sold ? grant.overage_price_cents : null,
      overage_per: sold ? grant.overage_per : null,
    };
  }
  const left = counter.included! - (counter.used! - counter.credit_used - counter.overage_used);
  // Nothing left of the included units on a metric that sells overage: the cap decides (quota_of reads it).
  if (counter.overage_price_cents !== null && left <= 0) return null;
  return summaryOf(counter, metric, row.ps, row.pe);
}

/** The check from quota_of: credits, the spend cap, a period the boundary rule moved, an ungranted metric. */
async function fullQuota(orgId: string, metric: Metric): Promise<QuotaSummary> {
  quotaOfReads++;
  const [row] = await withinHotDeadline(hotSql<QuotaRow[]>`
    select plan_code, status, live, used, included, credit_used, overage_used, credits_left,
           overage_price_cents, overage_per, cap_cents, capped, org_overage_cents,
           epoch_ms(period_start) as ps,
           epoch_ms(period_end) as pe
      from quota_of(${orgId}, ${metric}, ${GRACE}::interval)`);
  if (!row?.live) throw new SubscriptionInactive(row?.status ?? null);
  if (row.used === null) throw unknownMetric("metric", metric);
  if (row.included === null) throw new FeatureNotInPlan(metric);
  return summaryOf(row, metric, row.ps, row.pe);
}

/** The answer from a counter (read, or as it would start), the org's credits and, when read, its cap. */
function summaryOf(row: Counted, metric: Metric, ps: number, pe: number): QuotaSummary {
  const used = row.used!;
  const included = row.included!;
  const summary: QuotaSummary = {
    allow: false,
    remaining: Math.max(0, included - (used - row.credit_used - row.overage_used)) + row.credits_left,
    used,
    included,
    metric,
    periodKey: periodKeyOf(ps),
    periodStart: iso(ps),
    periodEnd: iso(pe),
    planCode: row.plan_code,
    status: row.status,
    credits: { remaining: row.credits_left, usedThisPeriod: row.credit_used },
    overage: overageOf(row),
  };
  // Past the included units and credits, the cap decides (asked only when quota_of read it).
  summary.allow =
    summary.remaining > 0 ||
    (summary.overage !== null &&
      oneMoreOverageUnitFits({ capCents: row.capped ? row.cap_cents! : null, orgCents: row.org_overage_cents ?? 0 }, row.overage_used, {
        priceCents: row.overage_price_cents!,
        per: row.overage_per!,
      }));
  return summary;
}

function overageOf(row: Counted): QuotaSummary["overage"] {
  if (row.overage_price_cents === null || row.overage_per === null) return null;
  return {
    priceCents: row.overage_price_cents,
    per: row.overage_per,
    unitsSoFar: row.overage_used,
    chargeCents: overageChargeCents(row.overage_used, row.overage_price_cents, row.overage_per),
  };
}

// Concurrent records are batched into one statement (the group commit, group-commit.server.ts):
// up to MAX_BATCH requests of any orgs per batch; a repeat of an (org, request_id) already queued
// or running waits on that one. Two lanes that never share a batch:
// - ADMIT: requests that may fit go to record_usage (locks, writes), MAX_INFLIGHT batches at once;
// - DENY: requests the room hint says cannot fit (the org was full at its last answer, the period
//   has not ended) go to deny_or_replay: a plain read, no lock, no write. One batch at a time, so
//   denials queue into few, large statements, and a full org hammering the API neither takes its
//   subscription's lock nor shares (and shrinks) the batches of orgs with room. The read re-checks
//   every request against the committed counter, so a hint gone stale (an upgrade, in any process)
//   sends the request back to ADMIT ('undecided'), never to a wrong 429.
// - PARTS: requests of several features, admitted whole or denied whole, go to record_usage_parts
//   (same locks, so they serialise with ADMIT batches of the same orgs), MAX_INFLIGHT at once; they
//   never take the DENY lane (deny_or_replay decides one feature), but their answers feed the room
//   hint for one-feature requests.
// What each answer means, for the caller, a repeat and the room hint: decisions.server.ts.
const MAX_BATCH = 512;
const MAX_INFLIGHT = Math.max(1, Math.min(config.USAGE_BATCH_CONCURRENCY, config.DATABASE_POOL_SIZE - 1));
const ADMIT = 0;
const DENY = 1;
const PARTS = 2;
const room = createRoomHint();
const usageBatches = createGroupCommit<UsageRequest, RecordResult, DecisionRow>({
  maxBatch: MAX_BATCH,
  maxInflight: [MAX_INFLIGHT, 1, MAX_INFLIGHT],
  laneOf: (r) => (r.parts ? PARTS : room.expectsDenial(r) ? DENY : ADMIT),
  keyOf: (r) => `${r.orgId}\u0000${r.requestId}`,
  // A batch locks its orgs' subscriptions (record_usage, record_usage_parts): a second batch of an
  // org already in a running batch of its lane would only queue behind it in Postgres. Its requests
  // wait in the app instead and go in the next batch, whole: for one busy org, one batch of all its
  // waiting requests per commit, not two halves committed one after the other.
  lockOf: (r) => r.orgId,
  flush: recordBatch,
  indexOf: (row) => row.batch_index - 1,
  decide: (request, row) => decide(room, request, row),
  follow,
});

/**
 * The usage record: counts the request once, or replays, or throws QuotaExceeded /
 * IdempotencyConflict / SubscriptionInactive / FeatureNotInPlan / VALIDATION_FAILED (a metric the
 * catalog does not meter).
 */
export function recordUsage(request: UsageRequest): Promise<RecordResult> {
  return usageBatches.submit(request);
}

/**
 * POST /api/v1/usage's body as the engine records it: one feature (`metric` and `quantity`), or
 * several (`quantities`, sorted by feature so a repeat in another key order is the same request),
 * attributed to `keyId` (the API key it came under) in the ledger and usage_hourly.
 * `quantities` with one feature is that feature's one-feature request, answered in the
 * `features` shape.
 */
export function recordUsageBody(orgId: string, body: UsageBody, keyId = ""): Promise<RecordResult> {
  const requestId = body.request_id;
  if (!body.quantities) return recordUsage({ orgId, requestId, keyId, metric: body.metric ?? "api_call", quantity: body.quantity ?? 1 });
  const parts = Object.entries(body.quantities)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([metric, quantity]) => ({ metric, quantity }));
  if (parts.length > 1) return recordUsage({ orgId, requestId, keyId, parts });
  return recordUsage({ orgId, requestId, keyId, ...parts[0], metricPath: `quantities.${parts[0].metric}` }).then(({ replayed, data }) => {
    const { metric, quantity, used, remaining, included, periodKey, recordedAt, admittedAs } = data as UsageRecord;
    return { replayed, data: { request_id: requestId, features: { [metric]: { quantity, used, remaining, included, admittedAs } }, periodKey, recordedAt } };
  });
}

/** One batch, one statement: record_usage (lane ADMIT), deny_or_replay (lane DENY) or record_usage_parts (lane PARTS). */
async function recordBatch(batch: readonly Queued<UsageRequest>[], lane: number): Promise<DecisionRow[]> {
  observeBatch(batch.length);
  let rows: DecisionRow[];
  try {
    // Requests queued behind a batch that met an outage are refused at once, having written nothing.
    if (databaseBreaker.isOpen()) throw new ServiceUnavailable();
    if (lane === PARTS) rows = await recordPartsBatch(batch);
    else rows = await recordOneFeatureBatch(batch, lane);
  } catch (err) {
    // Nothing was committed (refused, or cut off by Postgres's statement_timeout, which is
    // disarmed before the commit), or the outcome is unknown (a connection lost, or the app's
    // deadline passed while Postgres did not answer: the statement may still commit later), and
    // then the retry replays it. Either way every request of the batch may be retried with the
    // same request_id, and gets a 503 saying so (the group commit fails them all).
    noteDatabaseError(err);
    throw err;
  }
  const admitted = new Set<string>();
  for (const row of rows) {
    if (row.outcome !== "admitted") continue;
    const r = batch[row.batch_index - 1].item;
    if (r.parts) for (const part of r.parts) admitted.add(`quota:${r.orgId}:${part.metric}`);
    else admitted.add(`quota:${r.orgId}:${r.metric}`);
  }
  await cacheDel(...admitted);
  return rows;
}

async function recordOneFeatureBatch(batch: readonly Queued<UsageRequest>[], lane: number): Promise<DecisionRow[]> {
  const orgs = batch.map((p) => p.item.orgId);
  const requestIds = batch.map((p) => p.item.requestId);
  const metrics = batch.map((p) => p.item.metric!);
  const quantities = batch.map((p) => p.item.quantity!);
  const keyIds = lane === DENY ? [] : batch.map((p) => p.item.keyId ?? "");
  // Two whole statements, not one with the function as a fragment: the hot write stays a single
  // static query text (a fragment is rebuilt per batch; with it, usage on one org benched 4–7% lower).
  return await withinHotDeadline(
    lane === DENY
      ? hotSql<DecisionRow[]>`
          select idx as batch_index, outcome, used, included, sub_status as subscription_status,
                 epoch_ms(period_start) as period_start_ms,
                 epoch_ms(period_end) as period_end_ms,
                 epoch_ms(recorded_at) as recorded_at_ms,
                 credit_units, overage_units, denied_by, cap_cents, overage_cents, room
            from deny_or_replay(${orgs}::text[], ${requestIds}::text[], ${metrics}::text[], ${quantities}::int[], ${GRACE}::interval)`
      : hotSql<DecisionRow[]>`
          select idx as batch_index, outcome, used, included, sub_status as subscription_status,
                 epoch_ms(period_start) as period_start_ms,
                 epoch_ms(period_end) as period_end_ms,
                 epoch_ms(recorded_at) as recorded_at_ms,
                 credit_units, overage_units, denied_by, cap_cents, overage_cents, room
            from record_usage(${orgs}::text[], ${requestIds}::text[], ${metrics}::text[], ${quantities}::int[], ${GRACE}::interval,
                              ${keyIds}::text[])`,
  );
}

type PartsRow = PartRow & { request_index: number; subscription_status: string | null };

/** A batch of requests of several features: one record_usage_parts statement, its part rows gathered per request. */
async function recordPartsBatch(batch: readonly Queued<UsageRequest>[]): Promise<DecisionRow[]> {
  const orgs = batch.map((p) => p.item.orgId);
  const requestIds = batch.map((p) => p.item.requestId);
  const partRequests = batch.flatMap((p, i) => p.item.parts!.map(() => i + 1));
  const metrics = batch.flatMap((p) => p.item.parts!.map((part) => part.metric));
  const quantities = batch.flatMap((p) => p.item.parts!.map((part) => part.quantity));
  const keyIds = batch.map((p) => p.item.keyId ?? "");
  const partRows = await withinHotDeadline(hotSql<PartsRow[]>`
    select request_index, outcome, metric, quantity, used, included, subscription_status,
           epoch_ms(period_start) as period_start_ms,
           epoch_ms(period_end) as period_end_ms,
           epoch_ms(recorded_at) as recorded_at_ms,
           credit_units, overage_units, denied_by, cap_cents, overage_cents
      from record_usage_parts(${orgs}::text[], ${requestIds}::text[], ${partRequests}::int[], ${metrics}::text[],
                              ${quantities}::int[], ${GRACE}::interval, ${keyIds}::text[])`);
  const rows: DecisionRow[] = [];
  for (const part of partRows) {
    const last = rows.at(-1);
    if (last?.batch_index === part.request_index) last.parts!.push(part);
    else rows.push({ ...part, batch_index: part.request_index, parts: [part] });
  }
  return rows;
}

/** Resolves once every queued and running usage batch has been answered (a graceful stop waits for it). */
export function drainUsage(): Promise<void> {
  return usageBatches.drain();
}
