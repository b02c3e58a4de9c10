// The usage engine: the quota check and the exact, idempotent usage record.
// Admission and idempotency are decided in Postgres (record_usage and friends, db/functions/);
// this module hands concurrent requests to the group commit (one statement per batch), and
// decisions.server.ts shapes the answers. No Stripe, Stigg or Clerk call happens here, ever.
import type { z } from "zod";
import type { quotaSummary } from "../api/schemas.server";
import type { Metric } from "../domain/vocabulary.server";
import { observeBatch } from "../observe/metrics.server";
import { cacheDel, cacheGet, cacheSet } from "../platform/cache.server";
import { config } from "../platform/config.server";
import { databaseBreaker, hotSql, noteDatabaseError, withinHotDeadline } from "../platform/db.server";
import { ServiceUnavailable, SubscriptionInactive } from "../platform/errors.server";
import { createRoomHint, type DecisionRow, decide, follow, iso, periodKeyOf, type RecordResult, type UsageRequest } from "./decisions.server";
import { createGroupCommit, type Queued } from "./group-commit.server";

const GRACE = `${config.PAST_DUE_GRACE_DAYS} days`;
const QUOTA_CACHE_TTL_MS = 1000;

/** The quota check's answer (the API's `QuotaSummary`). */
export type QuotaSummary = z.infer<typeof quotaSummary>;

type QuotaRow = { plan_code: string; status: string; live: boolean; ps: number; pe: number; used: number; included: number };

/** The quota check: one read of the org's period and counter (or the Redis copy, at most 1 s old). */
export async function quotaFor(orgId: string, metric: Metric): Promise<QuotaSummary> {
  const cacheKey = `quota:${orgId}:${metric}`;
  const cached = await cacheGet(cacheKey);
  if (cached) return JSON.parse(cached) as QuotaSummary;
  const [row] = await withinHotDeadline(hotSql<QuotaRow[]>`
    select plan_code, status, live, used, included,
           (extract(epoch from period_start) * 1000)::float8 as ps,
           (extract(epoch from period_end) * 1000)::float8 as pe
      from quota_of(${orgId}, ${metric}, ${GRACE}::interval)`);
  if (!row?.live) throw new SubscriptionInactive(row?.status ?? null);
  const remaining = Math.max(0, row.included - row.used);
  const summary: QuotaSummary = {
    allow: remaining > 0,
    remaining,
    used: row.used,
    included: row.included,
    metric,
    periodKey: periodKeyOf(row.ps),
    periodStart: iso(row.ps),
    periodEnd: iso(row.pe),
    planCode: row.plan_code,
    status: row.status,
  };
  cacheSet(cacheKey, JSON.stringify(summary), QUOTA_CACHE_TTL_MS);
  return summary;
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
// What each answer means, for the caller, a repeat and the room hint: decisions.server.ts.
const MAX_BATCH = 512;
const MAX_INFLIGHT = Math.max(1, Math.min(config.USAGE_BATCH_CONCURRENCY, config.DATABASE_POOL_SIZE - 1));
const ADMIT = 0;
const DENY = 1;
const room = createRoomHint();
const usageBatches = createGroupCommit<UsageRequest, RecordResult, DecisionRow>({
  maxBatch: MAX_BATCH,
  maxInflight: [MAX_INFLIGHT, 1],
  laneOf: (r) => (room.expectsDenial(r) ? DENY : ADMIT),
  keyOf: (r) => `${r.orgId}\u0000${r.requestId}`,
  flush: recordBatch,
  indexOf: (row) => row.batch_index - 1,
  decide: (request, row) => decide(room, request, row),
  follow,
});

/** The usage record: counts the request once, or replays, or throws QuotaExceeded / IdempotencyConflict / SubscriptionInactive. */
export function recordUsage(request: UsageRequest): Promise<RecordResult> {
  return usageBatches.submit(request);
}

/** One batch, one statement: record_usage (lane ADMIT), or deny_or_replay (lane DENY). */
async function recordBatch(batch: readonly Queued<UsageRequest>[], lane: number): Promise<DecisionRow[]> {
  observeBatch(batch.length);
  let rows: DecisionRow[];
  try {
    // Requests queued behind a batch that met an outage are refused at once, having written nothing.
    if (databaseBreaker.isOpen()) throw new ServiceUnavailable();
    const orgs = batch.map((p) => p.item.orgId);
    const requestIds = batch.map((p) => p.item.requestId);
    const metrics = batch.map((p) => p.item.metric);
    const quantities = batch.map((p) => p.item.quantity);
    // Two whole statements, not one with the function as a fragment: the hot write stays a single
    // static query text (a fragment is rebuilt per batch; with it, usage on one org benched 4–7% lower).
    rows = await withinHotDeadline(
      lane === DENY
        ? hotSql<DecisionRow[]>`
          select idx as batch_index, outcome, used, included, sub_status as subscription_status,
                 (extract(epoch from period_start) * 1000)::float8 as period_start_ms,
                 (extract(epoch from period_end) * 1000)::float8 as period_end_ms,
                 (extract(epoch from recorded_at) * 1000)::float8 as recorded_at_ms
            from deny_or_replay(${orgs}::text[], ${requestIds}::text[], ${metrics}::text[], ${quantities}::int[], ${GRACE}::interval)`
        : hotSql<DecisionRow[]>`
          select idx as batch_index, outcome, used, included, sub_status as subscription_status,
                 (extract(epoch from period_start) * 1000)::float8 as period_start_ms,
                 (extract(epoch from period_end) * 1000)::float8 as period_end_ms,
                 (extract(epoch from recorded_at) * 1000)::float8 as recorded_at_ms
            from record_usage(${orgs}::text[], ${requestIds}::text[], ${metrics}::text[], ${quantities}::int[], ${GRACE}::interval)`,
    );
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
    const r = batch[row.batch_index - 1].item;
    if (row.outcome === "admitted") admitted.add(`quota:${r.orgId}:${r.metric}`);
  }
  await cacheDel(...admitted);
  return rows;
}

/** Resolves once every queued and running usage batch has been answered (a graceful stop waits for it). */
export function drainUsage(): Promise<void> {
  return usageBatches.drain();
}
