// The shapes of the Metered API's answers, as the client returns them. The OpenAPI document
// served at /api/openapi.json is the reference; the client's tests check real answers against it.

/** Error codes the API documents today. New codes may appear: handle them by HTTP status. */
export const API_ERROR_CODES = [
  "VALIDATION_FAILED",
  "MALFORMED_JSON",
  "UNAUTHENTICATED",
  "SUBSCRIPTION_INACTIVE",
  "FORBIDDEN",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "IDEMPOTENCY_CONFLICT",
  "PREVIEW_EXPIRED",
  "PAYLOAD_TOO_LARGE",
  "QUOTA_EXCEEDED",
  "RATE_LIMITED",
  "INTERNAL",
  "UPSTREAM_UNAVAILABLE",
  "SERVICE_UNAVAILABLE",
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number] | (string & {});

export type ErrorEnvelope = { ok: false; error: { code: ApiErrorCode; message: string; details: Record<string, unknown> } };
export type SuccessEnvelope<T> = { ok: true; data: T };

/** The quota summary of `GET /api/v1/quota`. */
export type QuotaSummary = {
  /** `remaining > 0`. Checking never denies; recording does. */
  allow: boolean;
  remaining: number;
  used: number;
  included: number;
  metric: string;
  /** `YYYY-MM` of the period start. */
  periodKey: string;
  periodStart: string;
  periodEnd: string;
  planCode: string;
  status: string;
};

/** The record of `POST /api/v1/usage` as the API answers it. */
export type UsageRecord = {
  request_id: string;
  metric: string;
  quantity: number;
  used: number;
  remaining: number;
  included: number;
  periodKey: string;
  recordedAt: string;
};

/** Counted (or counted before: `replayed`), decided by the platform. */
export type Admitted = {
  admitted: true;
  decidedBy: "platform";
  /** True when this request_id was already counted: this answer is the first one, replayed. */
  replayed: boolean;
  requestId: string;
  metric: string;
  quantity: number;
  used: number;
  remaining: number;
  included: number;
  periodKey: string;
  recordedAt: string;
};

/** The hard stop: nothing was counted and the request_id is not burned. */
export type QuotaExceeded = {
  admitted: false;
  decidedBy: "platform";
  reason: "quota_exceeded";
  /** Whole seconds until the period ends (the `Retry-After` header). */
  retryAfter: number;
  requestId: string;
  used: number;
  included: number;
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

export type RecordResult = Admitted | QuotaExceeded | DecidedByPolicy;

/**
 * What `record` answers when the platform cannot be reached (after the retries, within the
 * deadline): "deny" keeps the hard stop (the default); "allow" keeps serving.
 */
export type OnUnavailable = "deny" | "allow";
