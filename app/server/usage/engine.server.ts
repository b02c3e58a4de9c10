// The usage engine: the quota check and the exact, idempotent usage record.
// Admission and idempotency are decided in Postgres (record_usage and friends, db/functions/);
// this module hands concurrent requests to the group commit (one statement per batch) and shapes
// the answers. No Stripe, Stigg or Clerk call happens here, ever.
import type { z } from "zod";
import type { quotaSummary, usageRecord } from "../api/schemas.server";
import { config, type Metric } from "../platform/config.server";
import { databaseBreaker, noteDatabaseError, sql } from "../platform/db.server";
import { cacheDel, cacheGet, cacheSet } from "../platform/cache.server";
import { type AppError, IdempotencyConflict, QuotaExceeded, ServiceUnavailable, SubscriptionInactive } from "../platform/errors.server";
import { observeBatch, observeDecision } from "../observe/metrics.server";
import { createGroupCommit, type Outcome, type Queued, REQUEUE } from "./group-commit.server";

const GRACE = `${config.PAST_DUE_GRACE_DAYS} days`;
const QUOTA_CACHE_TTL_MS = 1000;

const iso = (ms: number) => new Date(ms).toISOString();
export const periodKeyOf = (periodStartMs: number) => iso(periodStartMs).slice(0, 7);

/** The quota check's answer (the API's `QuotaSummary`). */
export type QuotaSummary = z.infer<typeof quotaSummary>;

type QuotaRow = { plan_code: string; status: string; live: boolean; ps: number; pe: number; used: number; included: number };

/** The quota check: one read of the org's period and counter (or the Redis copy, at most 1 s old). */
export async function quotaFor(orgId: string, metric: Metric): Promise<QuotaSummary> {
  const cacheKey = `quota:${orgId}:${metric}`;
  const cached = await cacheGet(cacheKey);
  if (cached) return JSON.parse(cached) as QuotaSummary;
  const [row] = await sql<QuotaRow[]>`
    select plan_code, status, live, used, included,
           (extract(epoch from period_start) * 1000)::float8 as ps,
           (extract(epoch from period_end) * 1000)::float8 as pe
      from quota_of(${orgId}, ${metric}, ${GRACE}::interval)`;
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

export type UsageRequest = { orgId: string; requestId: string; metric: Metric; quantity: number };
/** The usage record's answer (the API's `UsageRecord`). */
export type UsageRecord = z.infer<typeof usageRecord>;
export type RecordResult = { replayed: boolean; data: UsageRecord };

type Decision = "admitted" | "replayed" | "conflict" | "denied" | "inactive" | "undecided";
// One row of record_usage / deny_or_replay (db/functions/), times as epoch milliseconds.
type DecisionRow = {
  batch_index: number;
  outcome: Decision;
  used: number | null;
  included: number | null;
  period_start_ms: number | null;
  period_end_ms: number | null;
  recorded_at_ms: number | null;
  subscription_status: string | null;
};

// Concurrent records are batched into one statement (the group commit, group-commit.server.ts):
// up to MAX_BATCH requests of any orgs per batch, MAX_INFLIGHT batches at a time; a repeat of an
// (org, request_id) already queued or running waits on that one.
const MAX_BATCH = 512;
const MAX_INFLIGHT = Math.max(1, Math.min(config.USAGE_BATCH_CONCURRENCY, config.DATABASE_POOL_SIZE - 1));
const usageBatches = createGroupCommit<UsageRequest, RecordResult, DecisionRow>({
  maxBatch: MAX_BATCH,
  maxInflight: MAX_INFLIGHT,
  keyOf: (r) => `${r.orgId}\u0000${r.requestId}`,
  flush: recordBatch,
  indexOf: (row) => row.batch_index - 1,
  decide,
  follow,
});

/** The usage record: counts the request once, or replays, or throws QuotaExceeded / IdempotencyConflict / SubscriptionInactive. */
export function recordUsage(request: UsageRequest): Promise<RecordResult> {
  return usageBatches.submit(request);
}

/** One batch, one statement: record_usage, or deny_or_replay when the batch looks like only denials. */
async function recordBatch(batch: readonly Queued<UsageRequest>[]): Promise<DecisionRow[]> {
  observeBatch(batch.length);
  const readOnly = expectOnlyDenials(batch);
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
    rows = readOnly
      ? await sql<DecisionRow[]>`
          select idx as batch_index, outcome, used, included, sub_status as subscription_status,
                 (extract(epoch from period_start) * 1000)::float8 as period_start_ms,
                 (extract(epoch from period_end) * 1000)::float8 as period_end_ms,
                 (extract(epoch from recorded_at) * 1000)::float8 as recorded_at_ms
            from deny_or_replay(${orgs}::text[], ${requestIds}::text[], ${metrics}::text[], ${quantities}::int[], ${GRACE}::interval)`
      : await sql<DecisionRow[]>`
          select idx as batch_index, outcome, used, included, sub_status as subscription_status,
                 (extract(epoch from period_start) * 1000)::float8 as period_start_ms,
                 (extract(epoch from period_end) * 1000)::float8 as period_end_ms,
                 (extract(epoch from recorded_at) * 1000)::float8 as recorded_at_ms
            from record_usage(${orgs}::text[], ${requestIds}::text[], ${metrics}::text[], ${quantities}::int[], ${GRACE}::interval)`;
  } catch (err) {
    // Nothing was committed, or (a connection lost after the commit) the retry replays it: every
    // request of the batch may be retried with the same request_id (the group commit fails them all).
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

function decide(request: UsageRequest, row: DecisionRow): Outcome<RecordResult> | typeof REQUEUE {
  if (row.outcome === "undecided") {
    // It might fit after all (an upgrade, a new period): decide it under the lock.
    room.delete(roomKey(request.orgId, request.metric));
    return REQUEUE;
  }
  noteRoom(request, row);
  observeDecision(row.outcome);
  return outcomeOf(request, row);
}

// A follower with the same payload is the same request: it shares the answer, as a replay. One
// with another payload is decided afresh, after the leader, by the database.
function follow(leader: UsageRequest, follower: UsageRequest, outcome: Outcome<RecordResult>): Outcome<RecordResult> | undefined {
  if (follower.metric !== leader.metric || follower.quantity !== leader.quantity) return undefined;
  if (!outcome.ok) {
    observeDecision((outcome as DeniedOutcome).decision);
    return outcome;
  }
  observeDecision("replayed");
  return { ok: true, value: { replayed: true, data: outcome.value.data } };
}

// A refusal remembers its decision, for a follower's metric.
type DeniedOutcome = { ok: false; error: () => AppError; decision: Decision };

function outcomeOf(p: UsageRequest, row: DecisionRow): { ok: true; value: RecordResult } | DeniedOutcome {
  switch (row.outcome) {
    case "admitted":
    case "replayed": {
      const used = row.used!;
      const included = row.included!;
      return {
        ok: true,
        value: {
          replayed: row.outcome === "replayed",
          data: {
            request_id: p.requestId,
            metric: p.metric,
            quantity: p.quantity,
            used,
            remaining: Math.max(0, included - used),
            included,
            periodKey: periodKeyOf(row.period_start_ms!),
            recordedAt: iso(row.recorded_at_ms!),
          },
        },
      };
    }
    case "conflict":
      return { ok: false, decision: row.outcome, error: () => new IdempotencyConflict(p.requestId) };
    case "denied":
      return {
        ok: false,
        decision: row.outcome,
        error: () =>
          new QuotaExceeded({
            used: row.used!,
            included: row.included!,
            quantity: p.quantity,
            periodKey: periodKeyOf(row.period_start_ms!),
            periodEnd: iso(row.period_end_ms!),
          }),
      };
    case "inactive":
      return { ok: false, decision: row.outcome, error: () => new SubscriptionInactive(row.subscription_status) };
    case "undecided":
      throw new Error("an undecided request is never settled");
  }
}

// What the last answers said about each org's room, so a batch of requests that cannot fit is
// decided by a plain read (deny_or_replay). Only a hint: the database re-checks, and anything
// that might fit still takes the locked path.
const room = new Map<string, { remaining: number; periodEnd: number }>();
const roomKey = (orgId: string, metric: string) => `${orgId}\u0000${metric}`;

function expectOnlyDenials(batch: readonly Queued<UsageRequest>[]): boolean {
  const now = Date.now();
  return batch.every(({ item }) => {
    const r = room.get(roomKey(item.orgId, item.metric));
    return r !== undefined && r.remaining < item.quantity && now < r.periodEnd;
  });
}

function noteRoom(request: UsageRequest, row: DecisionRow): void {
  if ((row.outcome !== "admitted" && row.outcome !== "denied") || row.period_end_ms === null) return;
  if (room.size > 100_000) room.clear();
  room.set(roomKey(request.orgId, request.metric), { remaining: row.included! - row.used!, periodEnd: row.period_end_ms });
}

/** Resolves once every queued and running usage batch has been answered (a graceful stop waits for it). */
export function drainUsage(): Promise<void> {
  return usageBatches.drain();
}
