// The usage engine: the quota check and the exact, idempotent usage record.
// Admission and idempotency are decided in Postgres (db/migrations/0001_usage_engine.sql);
// this module only batches concurrent requests into one statement (group commit) and shapes
// the answers. No Stripe, Stigg or Clerk call happens here, ever.
import { config, type Metric } from "../platform/config.server";
import { databaseBreaker, noteDatabaseError, sql } from "../platform/db.server";
import { cacheDel, cacheGet, cacheSet } from "../platform/cache.server";
import { type AppError, IdempotencyConflict, QuotaExceeded, ServiceUnavailable, SubscriptionInactive } from "../platform/errors.server";
import { observeBatch, observeDecision } from "../observe/metrics.server";

const GRACE = `${config.PAST_DUE_GRACE_DAYS} days`;
const QUOTA_CACHE_TTL_MS = 1000;

const iso = (ms: number) => new Date(ms).toISOString();
export const periodKeyOf = (periodStartMs: number) => iso(periodStartMs).slice(0, 7);

export type QuotaSummary = {
  allow: boolean;
  remaining: number;
  used: number;
  included: number;
  metric: Metric;
  periodKey: string;
  periodStart: string;
  periodEnd: string;
  planCode: string;
  status: string;
};

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
export type UsageRecord = {
  request_id: string;
  metric: Metric;
  quantity: number;
  used: number;
  remaining: number;
  included: number;
  periodKey: string;
  recordedAt: string;
};
export type RecordResult = { replayed: boolean; data: UsageRecord };

type Outcome = "admitted" | "replayed" | "conflict" | "denied" | "inactive" | "undecided";
type OutcomeRow = {
  idx: number;
  outcome: Outcome;
  used: number | null;
  included: number | null;
  ps: number | null;
  pe: number | null;
  at: number | null;
  sub_status: string | null;
};

type Pending = UsageRequest & {
  resolve: (r: RecordResult) => void;
  reject: (e: unknown) => void;
  followers: Pending[];
};

// Group commit. While MAX_INFLIGHT batches are running, new requests wait in `queue`; each batch
// carries up to MAX_BATCH requests of any orgs in one statement. Requests for an
// (org, request_id) already queued or running wait on that one ("followers") instead of taking a
// slot of their own, so a batch never repeats an (org, request_id).
const MAX_BATCH = 512;
const MAX_INFLIGHT = Math.max(1, Math.min(config.USAGE_BATCH_CONCURRENCY, config.DATABASE_POOL_SIZE - 1));
const queue: Pending[] = [];
const leaders = new Map<string, Pending>();
let inflight = 0;
let scheduled = false;

const keyOf = (r: UsageRequest) => `${r.orgId}\u0000${r.requestId}`;

// What the last answers said about each org's room, so a batch of requests that cannot fit is
// decided by a plain read (see record_usage's read-only path). Only a hint: the database
// re-checks, and anything that might fit still takes the locked path.
const room = new Map<string, { remaining: number; periodEnd: number }>();
const roomKey = (orgId: string, metric: string) => `${orgId}\u0000${metric}`;

function expectOnlyDenials(batch: Pending[]): boolean {
  const now = Date.now();
  return batch.every((p) => {
    const r = room.get(roomKey(p.orgId, p.metric));
    return r !== undefined && r.remaining < p.quantity && now < r.periodEnd;
  });
}

function noteRoom(p: Pending, row: OutcomeRow): void {
  if ((row.outcome !== "admitted" && row.outcome !== "denied") || row.pe === null) return;
  if (room.size > 100_000) room.clear();
  room.set(roomKey(p.orgId, p.metric), { remaining: row.included! - row.used!, periodEnd: row.pe });
}

/** The usage record: counts the request once, or replays, or throws QuotaExceeded / IdempotencyConflict / SubscriptionInactive. */
export function recordUsage(request: UsageRequest): Promise<RecordResult> {
  return new Promise((resolve, reject) => enqueue({ ...request, resolve, reject, followers: [] }));
}

function enqueue(p: Pending): void {
  const leader = leaders.get(keyOf(p));
  if (leader) {
    leader.followers.push(p);
    return;
  }
  leaders.set(keyOf(p), p);
  queue.push(p);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(drain);
  }
}

function drain(): void {
  scheduled = false;
  while (inflight < MAX_INFLIGHT && queue.length > 0) {
    const batch = queue.splice(0, MAX_BATCH);
    inflight++;
    runBatch(batch).finally(() => {
      inflight--;
      if (queue.length > 0 && !scheduled) {
        scheduled = true;
        queueMicrotask(drain);
      }
    });
  }
}

async function runBatch(batch: Pending[]): Promise<void> {
  observeBatch(batch.length);
  const readOnly = expectOnlyDenials(batch);
  let rows: OutcomeRow[];
  try {
    // Requests queued behind a batch that met an outage are refused at once, having written nothing.
    if (databaseBreaker.isOpen()) throw new ServiceUnavailable();
    const orgs = batch.map((p) => p.orgId);
    const requestIds = batch.map((p) => p.requestId);
    const metrics = batch.map((p) => p.metric);
    const quantities = batch.map((p) => p.quantity);
    rows = readOnly
      ? await sql<OutcomeRow[]>`
          select idx, outcome, used, included, sub_status,
                 (extract(epoch from period_start) * 1000)::float8 as ps,
                 (extract(epoch from period_end) * 1000)::float8 as pe,
                 (extract(epoch from recorded_at) * 1000)::float8 as at
            from deny_or_replay(${orgs}::text[], ${requestIds}::text[], ${metrics}::text[], ${quantities}::int[], ${GRACE}::interval)`
      : await sql<OutcomeRow[]>`
          select idx, outcome, used, included, sub_status,
                 (extract(epoch from period_start) * 1000)::float8 as ps,
                 (extract(epoch from period_end) * 1000)::float8 as pe,
                 (extract(epoch from recorded_at) * 1000)::float8 as at
            from record_usage(${orgs}::text[], ${requestIds}::text[], ${metrics}::text[], ${quantities}::int[], ${GRACE}::interval)`;
  } catch (err) {
    // Nothing was committed, or (a connection lost after the commit) the retry replays it: every
    // request of the batch may be retried with the same request_id.
    noteDatabaseError(err);
    for (const p of batch) {
      leaders.delete(keyOf(p));
      for (const f of [p, ...p.followers]) f.reject(err);
    }
    return;
  }
  const admitted = new Set<string>();
  for (const row of rows) if (row.outcome === "admitted") admitted.add(`quota:${batch[row.idx - 1].orgId}:${batch[row.idx - 1].metric}`);
  await cacheDel(...admitted);
  for (const row of rows) {
    const p = batch[row.idx - 1];
    if (row.outcome === "undecided") {
      // It might fit after all (an upgrade, a new period): decide it under the lock.
      room.delete(roomKey(p.orgId, p.metric));
      queue.push(p);
      continue;
    }
    noteRoom(p, row);
    settle(p, row);
  }
}

function settle(leader: Pending, row: OutcomeRow): void {
  leaders.delete(keyOf(leader));
  const answer = answerFor(leader, row);
  observeDecision(row.outcome);
  deliver(leader, answer, false);
  for (const f of leader.followers) {
    // A follower with the same payload is the same request: it shares the answer, as a replay.
    // One with another payload is decided afresh, after the leader, by the database.
    if (f.metric === leader.metric && f.quantity === leader.quantity) {
      observeDecision(answer.ok ? "replayed" : row.outcome);
      deliver(f, answer, true);
    } else enqueue({ ...f, followers: [] });
  }
}

type Answer = { ok: true; replayed: boolean; data: UsageRecord } | { ok: false; error: () => AppError };

function deliver(p: Pending, answer: Answer, asReplay: boolean): void {
  if (answer.ok) p.resolve({ replayed: answer.replayed || asReplay, data: answer.data });
  else p.reject(answer.error());
}

function answerFor(p: Pending, row: OutcomeRow): Answer {
  switch (row.outcome) {
    case "admitted":
    case "replayed": {
      const used = row.used!;
      const included = row.included!;
      return {
        ok: true,
        replayed: row.outcome === "replayed",
        data: {
          request_id: p.requestId,
          metric: p.metric,
          quantity: p.quantity,
          used,
          remaining: Math.max(0, included - used),
          included,
          periodKey: periodKeyOf(row.ps!),
          recordedAt: iso(row.at!),
        },
      };
    }
    case "conflict":
      return { ok: false, error: () => new IdempotencyConflict(p.requestId) };
    case "denied":
      return {
        ok: false,
        error: () =>
          new QuotaExceeded({ used: row.used!, included: row.included!, quantity: p.quantity, periodKey: periodKeyOf(row.ps!), periodEnd: iso(row.pe!) }),
      };
    case "inactive":
      return { ok: false, error: () => new SubscriptionInactive(row.sub_status) };
    case "undecided":
      throw new Error("an undecided request is never settled");
  }
}

/** Resolves once every queued and running usage batch has been answered (a graceful stop waits for it). */
export async function drainUsage(): Promise<void> {
  while (scheduled || inflight > 0 || queue.length > 0) await Bun.sleep(5);
}
