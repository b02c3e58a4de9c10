// What the usage engine makes of the database's answers: each answer row of record_usage /
// deny_or_replay / record_usage_parts becomes its caller's outcome (`decide`), a concurrent repeat
// of a request gets its leader's answer or is decided afresh (`follow`), and the answers leave a
// hint of each org's room, so a request that cannot fit is decided by a plain read (`createRoomHint`).
import type { z } from "zod";
import type { usageRecord, usageRecordParts } from "../api/schemas.server";
import type { Metric } from "../domain/vocabulary.server";
import { observeDecision } from "../observe/metrics.server";
import { config } from "../platform/config.server";
import {
  type AppError,
  FeatureNotInPlan,
  IdempotencyConflict,
  QuotaExceeded,
  SpendCapReached,
  SubscriptionInactive,
  topUpPath,
  unknownMetric,
} from "../platform/errors.server";
import { type Outcome, REQUEUE } from "./group-commit.server";

export const iso = (ms: number) => new Date(ms).toISOString();
export const periodKeyOf = (periodStartMs: number) => iso(periodStartMs).slice(0, 7);

export type UsagePart = { metric: Metric; quantity: number };
/**
 * One feature's usage (record_usage), or several features' at once (`parts`, sorted by metric,
 * at least two: record_usage_parts), admitted whole or denied whole.
 */
/**
 * keyId: the API key the request came under (attribution in the ledger and usage_hourly; none: '').
 * metricPath: where the body named the metric, for a VALIDATION_FAILED (default `metric`).
 */
export type UsageRequest =
  | { orgId: string; requestId: string; keyId?: string; metric: Metric; quantity: number; metricPath?: string; parts?: undefined }
  | { orgId: string; requestId: string; keyId?: string; parts: readonly UsagePart[]; metric?: undefined; quantity?: undefined };
/** The usage record's answer (the API's `UsageRecord`, or `UsageRecordParts` for several features). */
export type UsageRecord = z.infer<typeof usageRecord>;
export type UsageRecordParts = z.infer<typeof usageRecordParts>;
export type RecordResult = { replayed: boolean; data: UsageRecord | UsageRecordParts };

type Decision = "admitted" | "replayed" | "conflict" | "denied" | "inactive" | "undecided" | "not_in_plan" | "unknown_metric" | "unrecorded";
/**
 * One part's row of record_usage_parts, times as epoch milliseconds; past the included units, as
 * DecisionRow: its credit and overage units, and on the part that refused the request, why.
 */
export type PartRow = {
  outcome: Decision;
  metric: string;
  quantity: number;
  used: number | null;
  included: number | null;
  period_start_ms: number | null;
  period_end_ms: number | null;
  recorded_at_ms: number | null;
  credit_units?: number | null;
  overage_units?: number | null;
  denied_by?: "quota" | "spend_cap" | null;
  cap_cents?: number | null;
  overage_cents?: number | null;
};
/**
 * One row of record_usage / deny_or_replay (db/functions/), times as epoch milliseconds; for a
 * request of several features, its parts' rows gathered (`parts`), the first one's in the rest.
 * Past the included units (record_usage and deny_or_replay only): an admission's (or replay's)
 * credit and overage units; a denial's cause (`quota` | `spend_cap`); the org's cap and period
 * overage charge in cents when the counter sells overage; and `room`, the units one more request
 * could get, when the answer looked past the included units (else null: included - used).
 */
export type DecisionRow = {
  batch_index: number;
  outcome: Decision;
  used: number | null;
  included: number | null;
  period_start_ms: number | null;
  period_end_ms: number | null;
  recorded_at_ms: number | null;
  subscription_status: string | null;
  credit_units?: number | null;
  overage_units?: number | null;
  denied_by?: "quota" | "spend_cap" | null;
  cap_cents?: number | null;
  overage_cents?: number | null;
  room?: number | null;
  parts?: PartRow[];
};

/** How an admission's units were paid: included units, prepaid credits, overage (they add up to its quantity). */
const admittedOf = (quantity: number, row: Pick<DecisionRow, "credit_units" | "overage_units">) => {
  const credits = row.credit_units ?? 0;
  const overage = row.overage_units ?? 0;
  return { included: quantity - credits - overage, credits, overage };
};

const topUpUrlOf = (metric: string) => `${config.baseUrl}${topUpPath(metric)}`;

type Refused = {
  denied_by?: string | null;
  cap_cents?: number | null;
  overage_cents?: number | null;
  used?: number | null;
  included?: number | null;
  period_start_ms?: number | null;
  period_end_ms?: number | null;
};

/** The 429 of a denied request of `metric`: the spend cap's, or the quota's (the hard stop). */
function refusal(metric: string, quantity: number, r: Refused): () => AppError {
  const period = { quantity, periodKey: periodKeyOf(r.period_start_ms!), periodEnd: iso(r.period_end_ms!), topUpUrl: topUpUrlOf(metric) };
  if (r.denied_by === "spend_cap") return () => new SpendCapReached({ metric, capCents: r.cap_cents!, overageCents: r.overage_cents!, ...period });
  return () => new QuotaExceeded({ metric, used: r.used!, included: r.included!, ...period });
}

/** A request's answer from its row, or REQUEUE when the row is 'undecided' (it might fit: record_usage decides it). */
export function decide(room: RoomHint, request: UsageRequest, row: DecisionRow): Outcome<RecordResult> | typeof REQUEUE {
  if (row.outcome === "undecided") {
    // It might fit after all (an upgrade, a new period): decide it under the lock.
    if (request.metric !== undefined) room.forget(request.orgId, request.metric);
    return REQUEUE;
  }
  if (request.parts) {
    for (const part of row.parts!) room.note(request.orgId, part.metric, part);
    const outcome = outcomeOfParts(request, row);
    observeDecision(outcome.ok ? row.outcome : outcome.decision);
    return outcome;
  }
  room.note(request.orgId, request.metric, row);
  observeDecision(row.outcome);
  return outcomeOf(request, row);
}

/** The same payload: the same metric and quantity, or the same parts. */
const samePayload = (a: UsageRequest, b: UsageRequest) =>
  a.parts === undefined || b.parts === undefined
    ? a.parts === b.parts && a.metric === b.metric && a.quantity === b.quantity
    : a.parts.length === b.parts.length && a.parts.every((p, i) => p.metric === b.parts![i].metric && p.quantity === b.parts![i].quantity);

/**
 * A follower's answer once its leader (the same org and request_id, queued or running before it)
 * has one. With the same payload it is the same request: it shares the answer, as a replay. With
 * another payload it is decided afresh, after the leader, by the database (undefined).
 */
export function follow(leader: UsageRequest, follower: UsageRequest, outcome: Outcome<RecordResult>): Outcome<RecordResult> | undefined {
  if (!samePayload(leader, follower)) return undefined;
  if (!outcome.ok) {
    observeDecision((outcome as DeniedOutcome).decision);
    return outcome;
  }
  observeDecision("replayed");
  return { ok: true, value: { replayed: true, data: outcome.value.data } };
}

// A refusal remembers its decision, for a follower's metric.
type DeniedOutcome = { ok: false; error: () => AppError; decision: Decision };

function outcomeOf(p: UsageRequest & { metric: Metric }, row: DecisionRow): { ok: true; value: RecordResult } | DeniedOutcome {
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
            admittedAs: admittedOf(p.quantity, row),
          },
        },
      };
    }
    case "conflict":
      return { ok: false, decision: row.outcome, error: () => new IdempotencyConflict(p.requestId) };
    case "denied":
      return { ok: false, decision: row.outcome, error: refusal(p.metric, p.quantity, row) };
    case "inactive":
      return { ok: false, decision: row.outcome, error: () => new SubscriptionInactive(row.subscription_status) };
    case "not_in_plan":
      return { ok: false, decision: row.outcome, error: () => new FeatureNotInPlan(p.metric) };
    case "unknown_metric":
      return { ok: false, decision: row.outcome, error: () => unknownMetric(p.metricPath ?? "metric", p.metric) };
    case "undecided":
    case "unrecorded":
      throw new Error(`a request is never settled as ${row.outcome}`);
  }
}

/**
 * A request of several features: its parts' rows share the request's outcome, except when a part
 * refused it (the catalog does not meter it: 400, the plan does not grant it: 403, that part named).
 * A denial names the first feature that does not fit in details.metric.
 */
function outcomeOfParts(p: UsageRequest, row: DecisionRow): { ok: true; value: RecordResult } | DeniedOutcome {
  const parts = row.parts!;
  const unknown = parts.find((part) => part.outcome === "unknown_metric");
  if (unknown) return { ok: false, decision: "unknown_metric", error: () => unknownMetric(`quantities.${unknown.metric}`, unknown.metric) };
  const notInPlan = parts.find((part) => part.outcome === "not_in_plan");
  if (notInPlan) return { ok: false, decision: "not_in_plan", error: () => new FeatureNotInPlan(notInPlan.metric) };
  switch (row.outcome) {
    case "admitted":
    case "replayed": {
      const first = parts[0];
      return {
        ok: true,
        value: {
          replayed: row.outcome === "replayed",
          data: {
            request_id: p.requestId,
            features: Object.fromEntries(
              parts.map((part) => [
                part.metric,
                {
                  quantity: part.quantity,
                  used: part.used!,
                  remaining: Math.max(0, part.included! - part.used!),
                  included: part.included!,
                  admittedAs: admittedOf(part.quantity, part),
                },
              ]),
            ),
            periodKey: periodKeyOf(first.period_start_ms!),
            recordedAt: iso(first.recorded_at_ms!),
          },
        },
      };
    }
    case "denied": {
      const exhausted = parts.find((part) => part.denied_by) ?? parts.find((part) => part.used! + part.quantity > part.included!)!;
      return { ok: false, decision: row.outcome, error: refusal(exhausted.metric, exhausted.quantity, exhausted) };
    }
    default:
      return outcomeOf({ orgId: p.orgId, requestId: p.requestId, metric: parts[0].metric, quantity: parts[0].quantity }, row);
  }
}

type RoomAnswer = Pick<DecisionRow, "outcome" | "used" | "included" | "period_end_ms" | "room">;
export type RoomHint = {
  /** True when, by the last answers, a one-feature request cannot fit: it may be decided by deny_or_replay. */
  expectsDenial: (request: UsageRequest, now?: number) => boolean;
  /** Remembers the room an admission or a denial answered for one feature (other answers say nothing current). */
  note: (orgId: string, metric: string, row: RoomAnswer) => void;
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
      // A request of several features always goes to record_usage_parts (deny_or_replay decides one feature).
      if (request.parts) return false;
      const r = room.get(keyOf(request.orgId, request.metric));
      return r !== undefined && r.remaining < request.quantity && now < r.periodEnd;
    },
    note(orgId, metric, row) {
      if ((row.outcome !== "admitted" && row.outcome !== "denied") || row.period_end_ms === null) return;
      const key = keyOf(orgId, metric);
      if (room.size >= maxEntries && !room.has(key)) room.clear();
      // An org past its included units has the room its credits and spend cap leave (row.room): on
      // overage it is not full; refused for its cap (or with no credits and no overage), it is.
      room.set(key, { remaining: row.room ?? row.included! - row.used!, periodEnd: row.period_end_ms });
    },
    forget(orgId, metric) {
      room.delete(keyOf(orgId, metric));
    },
  };
}
