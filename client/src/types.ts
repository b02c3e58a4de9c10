// The shapes of the Metered API's answers, as the client returns them. The API's own types are
// generated from its OpenAPI document (api-types.ts); the client's tests check real answers
// against that document.
import type { ErrorEnvelope as Envelope, ErrorCode, UsageAnswer } from "./api-types.js";

export type { Entitlement, Entitlements, QuotaSummary } from "./api-types.js";
/** The usage record of one feature (`metric` and `quantity`). */
export type UsageRecord = Extract<UsageAnswer, { metric: string }>;
/** The usage record of several features at once (`quantities`): each feature's quantity and counter. */
export type UsageRecordParts = Extract<UsageAnswer, { features: unknown }>;

/** Error codes the API documents today. New codes may appear: handle them by HTTP status. */
export { ERROR_CODES as API_ERROR_CODES } from "./api-types.js";
export type ApiErrorCode = ErrorCode | (string & {});

export type ErrorEnvelope = Envelope & { error: { code: ApiErrorCode } };
export type SuccessEnvelope<T> = { ok: true; data: T };

/** Counted (or counted before: `replayed`), decided by the platform: the API's usage record, `request_id` as `requestId`. */
export type Admitted = Omit<UsageRecord, "request_id"> & {
  admitted: true;
  decidedBy: "platform";
  /** True when this request_id was already counted: this answer is the first one, replayed. */
  replayed: boolean;
  requestId: string;
};

/** Several features counted at once (or before: `replayed`): each feature's quantity and counter after it. */
export type AdmittedParts = Omit<UsageRecordParts, "request_id"> & {
  admitted: true;
  decidedBy: "platform";
  replayed: boolean;
  requestId: string;
};

/** The hard stop: nothing was counted and the request_id is not burned. */
export type QuotaExceeded = {
  admitted: false;
  decidedBy: "platform";
  reason: "quota_exceeded";
  /** Whole seconds until the period ends (the `Retry-After` header). */
  retryAfter: number;
  requestId: string;
  /** The feature that does not fit (for several features at once, the first that does not). */
  metric: string;
  used: number;
  included: number;
  periodKey: string;
  periodEnd: string;
  message: string;
};

/** Refused by the org's spend cap: the overage this needs would take the period's overage charge over it. Nothing was counted. */
export type SpendCapReached = {
  admitted: false;
  decidedBy: "platform";
  reason: "spend_cap_reached";
  /** Whole seconds until the period ends (the `Retry-After` header). */
  retryAfter: number;
  requestId: string;
  metric: string;
  capCents: number;
  /** The org's overage charge so far this period. */
  overageCents: number;
  periodKey: string;
  periodEnd: string;
  message: string;
};

/** The platform could not be reached in time: `onUnavailable` decided, nothing is known to be counted. */
export type DecidedByPolicy = {
  admitted: boolean;
  decidedBy: "policy";
  reason: "unavailable";
  policy: OnUnavailable;
  requestId: string;
  /** What went wrong on the last attempt (e.g. `timeout`, `HTTP 503 SERVICE_UNAVAILABLE`). */
  cause: string;
  attempts: number;
};

export type RecordResult = Admitted | QuotaExceeded | SpendCapReached | DecidedByPolicy;
/** What `record` answers for several features at once (`quantities`): all counted, or none. */
export type RecordPartsResult = AdmittedParts | QuotaExceeded | SpendCapReached | DecidedByPolicy;

/**
 * What `record` answers when the platform cannot be reached (after the retries, within the
 * deadline): "deny" keeps the hard stop (the default); "allow" keeps serving.
 */
export type OnUnavailable = "deny" | "allow";
