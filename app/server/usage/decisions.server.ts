// What the usage engine makes of the database's answers: each answer row of record_usage /
// deny_or_replay becomes its caller's outcome (`decide`), a concurrent repeat of a request gets
// its leader's answer or is decided afresh (`follow`), and the answers leave a hint of each org's
// room, so a request that cannot fit is decided by a plain read (`createRoomHint`).
import type { z } from "zod";
import type { usageRecord } from "../api/schemas.server";
import type { Metric } from "../domain/vocabulary.server";
import { observeDecision } from "../observe/metrics.server";
import { type AppError, IdempotencyConflict, QuotaExceeded, SubscriptionInactive } from "../platform/errors.server";
import { type Outcome, REQUEUE } from "./group-commit.server";

export const iso = (ms: number) => new Date(ms).toISOString();
export const periodKeyOf = (periodStartMs: number) => iso(periodStartMs).slice(0, 7);

export type UsageRequest = { orgId: string; requestId: string; metric: Metric; quantity: number };
/** The usage record's answer (the API's `UsageRecord`). */
export type UsageRecord = z.infer<typeof usageRecord>;
export type RecordResult = { replayed: boolean; data: UsageRecord };

type Decision = "admitted" | "replayed" | "conflict" | "denied" | "inactive" | "undecided";
/** One row of record_usage / deny_or_replay (db/functions/), times as epoch milliseconds. */
export type DecisionRow = {
  batch_index: number;
  outcome: Decision;
  used: number | null;
  included: number | null;
  period_start_ms: number | null;
  period_end_ms: number | null;
  recorded_at_ms: number | null;
  subscription_status: string | null;
};

/** A request's answer from its row, or REQUEUE when the row is 'undecided' (it might fit: record_usage decides it). */
export function decide(room: RoomHint, request: UsageRequest, row: DecisionRow): Outcome<RecordResult> | typeof REQUEUE {
  if (row.outcome === "undecided") {
    // It might fit after all (an upgrade, a new period): decide it under the lock.
    room.forget(request.orgId, request.metric);
    return REQUEUE;
  }
  room.note(request, row);
  observeDecision(row.outcome);
  return outcomeOf(request, row);
}

/**
 * A follower's answer once its leader (the same org and request_id, queued or running before it)
 * has one. With the same payload it is the same request: it shares the answer, as a replay. With
 * another payload it is decided afresh, after the leader, by the database (undefined).
 */
export function follow(leader: UsageRequest, follower: UsageRequest, outcome: Outcome<RecordResult>): Outcome<RecordResult> | undefined {
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

export type RoomHint = {
  /** True when, by the last answers, the request cannot fit: it may be decided by deny_or_replay. */
  expectsDenial: (request: UsageRequest, now?: number) => boolean;
  /** Remembers the room an admission or a denial answered (other answers say nothing current). */
  note: (request: UsageRequest, row: DecisionRow) => void;
  forget: (orgId: string, metric: string) => void;
};

/**
 * What the last answers said about each org's room. Only a hint: deny_or_replay re-checks every
 * request against the committed counter and answers 'undecided' for anything that might fit, so
 * a stale hint costs a second statement, never a wrong answer. At most `maxEntries` orgs ×
 * metrics are kept (then it starts over).
 */
export function createRoomHint(maxEntries = 100_000): RoomHint {
  const room = new Map<string, { remaining: number; periodEnd: number }>();
  const keyOf = (orgId: string, metric: string) => `${orgId}\u0000${metric}`;
  return {
    expectsDenial(request, now = Date.now()) {
      const r = room.get(keyOf(request.orgId, request.metric));
      return r !== undefined && r.remaining < request.quantity && now < r.periodEnd;
    },
    note(request, row) {
      if ((row.outcome !== "admitted" && row.outcome !== "denied") || row.period_end_ms === null) return;
      const key = keyOf(request.orgId, request.metric);
      if (room.size >= maxEntries && !room.has(key)) room.clear();
      room.set(key, { remaining: row.included! - row.used!, periodEnd: row.period_end_ms });
    },
    forget(orgId, metric) {
      room.delete(keyOf(orgId, metric));
    },
  };
}
