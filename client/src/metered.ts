// The Metered API client: the quota check, the exactly-once usage record and the entitlements.
import { IdempotencyConflictError, MeteredApiError, MeteredUnavailableError } from "./errors.js";
import { type ExpressMiddleware, expressMeter, type FetchHandler, fetchMeter, type MeterOptions, type NodeLikeRequest } from "./middleware.js";
import { type ApiAnswer, errorCode, type FetchLike, retryAfterSeconds, send, type TransportOptions } from "./transport.js";
import type {
  Admitted,
  AdmittedParts,
  Entitlement,
  Entitlements,
  OnUnavailable,
  QuotaExceeded,
  QuotaSummary,
  RecordPartsResult,
  RecordResult,
  SpendCapReached,
  UsageRecord,
  UsageRecordParts,
} from "./types.js";
import { ensureRandomSource, uuidv7 } from "./uuidv7.js";

export type MeteredOptions = {
  apiKey: string;
  /** Where the API lives, e.g. `https://metered.example.com`. */
  baseUrl: string;
  /** Per attempt; default 2000. */
  timeoutMs?: number;
  /** Attempts after the first, on network errors, timeouts and 5xx; default 3. */
  retries?: number;
  /** For the whole call, retries included; default 5000. */
  deadlineMs?: number;
  /** First backoff bound; default 100 (then 200, 400, … up to maxBackoffMs, with full jitter). */
  backoffMs?: number;
  /** Default 2000. */
  maxBackoffMs?: number;
  /** What `record` answers when the API cannot be reached in time; default "deny" (the hard stop holds). */
  onUnavailable?: OnUnavailable;
  /** Another fetch (a proxy-aware one, a test double); default the global fetch. */
  fetch?: FetchLike;
};

export type RecordInput = {
  /** Idempotency key: 1–128 of `A-Za-z0-9._:-`. Default: a fresh UUIDv7. Reuse it to retry. */
  requestId?: string;
  /** Units to count; default 1. */
  quantity?: number;
  /** Default "api_call". */
  metric?: string;
};

/** Several features in one record, counted all or none: `{ api_call: 1, tokens: 1532 }`. */
export type RecordPartsInput = {
  requestId?: string;
  quantities: Record<string, number>;
};

const ID_SHAPE = /^[A-Za-z0-9._:-]{1,128}$/;

export class Metered {
  private readonly transport: TransportOptions;
  private readonly onUnavailable: OnUnavailable;

  constructor(options: MeteredOptions) {
    if (!options?.apiKey) throw new TypeError("Metered: apiKey is required");
    if (!options.baseUrl) throw new TypeError("Metered: baseUrl is required");
    const doFetch = options.fetch ?? globalThis.fetch;
    if (typeof doFetch !== "function") throw new TypeError("Metered: no global fetch in this runtime; pass options.fetch");
    this.transport = {
      apiKey: options.apiKey,
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      timeoutMs: options.timeoutMs ?? 2000,
      retries: options.retries ?? 3,
      deadlineMs: options.deadlineMs ?? 5000,
      backoffMs: options.backoffMs ?? 100,
      maxBackoffMs: options.maxBackoffMs ?? 2000,
      fetch: (url, init) => doFetch(url, init), // unbound global fetch throws "Illegal invocation" on some runtimes
    };
    this.onUnavailable = options.onUnavailable ?? "deny";
  }

  /** The org's quota for a metric. Throws MeteredApiError (4xx) or MeteredUnavailableError. */
  async quota(input: { metric?: string } = {}): Promise<QuotaSummary> {
    const query = input.metric ? `?metric=${encodeURIComponent(input.metric)}` : "";
    const answer = await send(this.transport, { method: "GET", path: `/api/v1/quota${query}` });
    if (answer.status === 200) return dataOf<QuotaSummary>(answer);
    throw apiError(answer);
  }

  /**
   * What the org may use: its plan (code, version, interval), the current period, and every
   * feature of the catalog as its plan grants it. Throws MeteredApiError (4xx) or MeteredUnavailableError.
   */
  async entitlements(): Promise<Entitlements> {
    const answer = await send(this.transport, { method: "GET", path: "/api/v1/entitlements" });
    if (answer.status === 200) return dataOf<Entitlements>(answer);
    throw apiError(answer);
  }

  /** One feature's entitlement; a feature the catalog does not have throws MeteredApiError (NOT_FOUND). */
  async entitlement(feature: string): Promise<Entitlement> {
    const answer = await send(this.transport, { method: "GET", path: `/api/v1/entitlements/${encodeURIComponent(feature)}` });
    if (answer.status === 200) return dataOf<Entitlement>(answer);
    throw apiError(answer);
  }

  /**
   * Whether the org may use `quantity` of a feature now: a metered feature with that much
   * `remaining` this period, a boolean one `granted`, a numeric one whose limit is at least
   * `quantity` (or unlimited). A feature the catalog does not have, or an org without a live
   * subscription, may not (false); other errors throw. Checking records nothing: record usage
   * with `record`.
   */
  async can(feature: string, quantity = 1): Promise<boolean> {
    let e: Entitlement;
    try {
      e = await this.entitlement(feature);
    } catch (err) {
      if (err instanceof MeteredApiError && (err.code === "NOT_FOUND" || err.code === "SUBSCRIPTION_INACTIVE")) return false;
      throw err;
    }
    if (e.type === "boolean") return e.granted;
    if (e.type === "numeric") return e.limit === null || e.limit >= quantity;
    return e.remaining >= quantity;
  }

  /**
   * Counts `quantity` units once for `requestId`. Retries reuse the same id, so an answer lost on
   * the way back is replayed, never counted twice. Over the quota: `{ admitted: false }`. The API
   * out of reach: decided by `onUnavailable`, and the result says so (`decidedBy: "policy"`).
   * With `quantities`, several features are counted at once, all or none (the denial names the
   * feature that does not fit in `metric`). Throws IdempotencyConflictError (409) and
   * MeteredApiError (other 4xx: FEATURE_NOT_IN_PLAN, VALIDATION_FAILED for a feature the catalog
   * does not meter).
   */
  async record(input: RecordPartsInput): Promise<RecordPartsResult>;
  async record(input?: RecordInput): Promise<RecordResult>;
  async record(input: RecordInput | RecordPartsInput = {}): Promise<RecordResult | RecordPartsResult> {
    await ensureRandomSource();
    const requestId = input.requestId ?? uuidv7();
    if (!ID_SHAPE.test(requestId)) throw new TypeError("Metered: requestId must be 1–128 characters of A-Z a-z 0-9 . _ : -");
    const body =
      "quantities" in input
        ? { request_id: requestId, quantities: input.quantities }
        : { request_id: requestId, metric: input.metric ?? "api_call", quantity: input.quantity ?? 1 };
    let answer: ApiAnswer;
    try {
      answer = await send(this.transport, { method: "POST", path: "/api/v1/usage", body, headers: { "x-request-id": requestId } });
    } catch (err) {
      if (!(err instanceof MeteredUnavailableError)) throw err;
      return {
        admitted: this.onUnavailable === "allow",
        decidedBy: "policy",
        reason: "unavailable",
        policy: this.onUnavailable,
        requestId,
        cause: err.lastFailure,
        attempts: err.attempts,
      };
    }
    if (answer.status === 200) return "quantities" in input ? admittedParts(answer) : admitted(answer);
    if (answer.status === 429 && errorCode(answer.body) === "QUOTA_EXCEEDED") return quotaExceeded(answer, requestId);
    if (answer.status === 429 && errorCode(answer.body) === "SPEND_CAP_REACHED") return spendCapReached(answer, requestId);
    throw apiError(answer);
  }

  /**
   * Meters a fetch-style handler (Bun.serve, Hono, Remix resource routes, Deno.serve): one record
   * per request before the handler runs; over the quota it answers 429 with Retry-After.
   */
  middleware<Req extends Request = Request>(options: MeterOptions<Req> = {}): (handler: FetchHandler<Req>) => FetchHandler<Req> {
    return fetchMeter(this, options);
  }

  /** The same for Express or Connect: `app.use(metered.express())`. */
  express<Req extends NodeLikeRequest = NodeLikeRequest>(options: MeterOptions<Req> = {}): ExpressMiddleware<Req> {
    return expressMeter(this, options);
  }
}

function dataOf<T>(answer: ApiAnswer): T {
  const data = (answer.body as { data?: T } | null)?.data;
  if (data === undefined) throw new MeteredApiError({ status: answer.status, code: "UNEXPECTED_RESPONSE", message: "The answer has no data envelope." });
  return data;
}

function admitted(answer: ApiAnswer): Admitted {
  const d = dataOf<UsageRecord>(answer);
  return {
    admitted: true,
    decidedBy: "platform",
    replayed: answer.headers.get("idempotent-replayed") === "true",
    requestId: d.request_id,
    metric: d.metric,
    quantity: d.quantity,
    used: d.used,
    remaining: d.remaining,
    included: d.included,
    periodKey: d.periodKey,
    recordedAt: d.recordedAt,
    admittedAs: d.admittedAs,
  };
}

function admittedParts(answer: ApiAnswer): AdmittedParts {
  const d = dataOf<UsageRecordParts>(answer);
  return {
    admitted: true,
    decidedBy: "platform",
    replayed: answer.headers.get("idempotent-replayed") === "true",
    requestId: d.request_id,
    features: d.features,
    periodKey: d.periodKey,
    recordedAt: d.recordedAt,
  };
}

function quotaExceeded(answer: ApiAnswer, requestId: string): QuotaExceeded {
  const { message, details } = (answer.body as { error: { message: string; details: Record<string, unknown> } }).error;
  return {
    admitted: false,
    decidedBy: "platform",
    reason: "quota_exceeded",
    retryAfter: retryAfterSeconds(answer.headers.get("retry-after")) ?? 1,
    requestId,
    metric: String(details.metric),
    used: Number(details.used),
    included: Number(details.included),
    periodKey: String(details.periodKey),
    periodEnd: String(details.periodEnd),
    message,
  };
}

function spendCapReached(answer: ApiAnswer, requestId: string): SpendCapReached {
  const { message, details } = (answer.body as { error: { message: string; details: Record<string, unknown> } }).error;
  return {
    admitted: false,
    decidedBy: "platform",
    reason: "spend_cap_reached",
    retryAfter: retryAfterSeconds(answer.headers.get("retry-after")) ?? 1,
    requestId,
    metric: String(details.metric),
    capCents: Number(details.capCents),
    overageCents: Number(details.overageCents),
    periodKey: String(details.periodKey),
    periodEnd: String(details.periodEnd),
    message,
  };
}

function apiError(answer: ApiAnswer): MeteredApiError {
  const error = (answer.body as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | null)?.error;
  const input = {
    status: answer.status,
    code: error?.code ?? "UNEXPECTED_RESPONSE",
    message: error?.message ?? `Unexpected HTTP ${answer.status} from the Metered API.`,
    details: error?.details ?? {},
    requestId: answer.headers.get("x-request-id"),
  };
  return answer.status === 409 && input.code === "IDEMPOTENCY_CONFLICT" ? new IdempotencyConflictError(input) : new MeteredApiError(input);
}
