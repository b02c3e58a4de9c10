// The fixed list of error codes of the API (docs/api.md), their HTTP statuses, and the typed errors the server
// layer throws. One boundary (http/envelope.server.ts) turns them into envelopes.
import type { z } from "zod";

export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNAUTHENTICATED: 401,
  SUBSCRIPTION_INACTIVE: 402,
  PAYMENT_FAILED: 402,
  FORBIDDEN: 403,
  FEATURE_NOT_IN_PLAN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  IDEMPOTENCY_CONFLICT: 409,
  PREVIEW_EXPIRED: 409,
  PAYLOAD_TOO_LARGE: 413,
  QUOTA_EXCEEDED: 429,
  SPEND_CAP_REACHED: 429,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UPSTREAM_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    // These are expected outcomes (a full quota, a bad body), not bugs: no stack to capture,
    // which keeps a denial cheaper than a quota check.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = code;
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const Unauthenticated = (message = "Missing or invalid credentials.") => new AppError("UNAUTHENTICATED", message);
export const NotFound = (what = "Resource") => new AppError("NOT_FOUND", `${what} not found.`);
/** Text with a NUL character: Postgres cannot store it, so it is bad input (400), never a failed write. */
/** A NUL character (U+0000) in the input, at `path` (a body's field, as zod names one: "a.b.0"). */
export const nulRefused = (path: string) =>
  new AppError("VALIDATION_FAILED", "Text must not contain NUL characters (U+0000).", {
    issues: [{ path, message: "must not contain NUL characters (U+0000)" }],
  });
export const Forbidden = (message = "You are not allowed to do this.") => new AppError("FORBIDDEN", message);

export class SubscriptionInactive extends AppError {
  constructor(status: string | null) {
    super(
      "SUBSCRIPTION_INACTIVE",
      status
        ? `The organisation's subscription is ${status}; usage needs a trialing or active subscription.`
        : "The organisation has no subscription; start a plan or a trial first.",
      { status },
    );
  }
}

export class IdempotencyConflict extends AppError {
  constructor(requestId: string) {
    super("IDEMPOTENCY_CONFLICT", `request_id "${requestId}" was already used with a different metric or quantity.`, { request_id: requestId });
  }
}

/** Where the portal sells top-up packs of a metric (the 429 of a hard stop links to it). */
export const topUpPath = (metric: string) => `/billing/top-ups?metric=${encodeURIComponent(metric)}`;

const retryAfterOf = (periodEnd: string) => String(Math.max(1, Math.ceil((Date.parse(periodEnd) - Date.now()) / 1000)));

export class QuotaExceeded extends AppError {
  constructor(d: { metric: string; used: number; included: number; periodKey: string; periodEnd: string; quantity: number; topUpUrl: string }) {
    super(
      "QUOTA_EXCEEDED",
      `Quota exceeded: ${d.used} of ${d.included} ${d.metric} used this period; ${d.quantity} more does not fit. Buy a top-up, upgrade the plan or wait for the period to end.`,
      { metric: d.metric, used: d.used, included: d.included, periodKey: d.periodKey, periodEnd: d.periodEnd, topUpUrl: d.topUpUrl },
      { "Retry-After": retryAfterOf(d.periodEnd) },
    );
  }
}

/** An overage admission that would take the org's period overage charge over its spend cap. */
export class SpendCapReached extends AppError {
  constructor(d: { metric: string; capCents: number; overageCents: number; quantity: number; periodKey: string; periodEnd: string; topUpUrl: string }) {
    super(
      "SPEND_CAP_REACHED",
      `Spend cap reached: this period's overage is ${d.overageCents} of a ${d.capCents}-cent cap; ${d.quantity} more ${d.metric} would go over it. An org admin can raise the cap, or buy a top-up.`,
      { metric: d.metric, capCents: d.capCents, overageCents: d.overageCents, periodKey: d.periodKey, periodEnd: d.periodEnd, topUpUrl: d.topUpUrl },
      { "Retry-After": retryAfterOf(d.periodEnd) },
    );
  }
}

/** A metered feature of the catalog that the org's plan (the version it was bought on) does not grant. */
export class FeatureNotInPlan extends AppError {
  constructor(metric: string) {
    super("FEATURE_NOT_IN_PLAN", `The organisation's plan does not include "${metric}"; upgrade to a plan that does.`, { metric });
  }
}

/** A metric the catalog does not meter: bad input, named by the field it came in. */
export const unknownMetric = (path: string, metric: string) =>
  new AppError("VALIDATION_FAILED", `Invalid input: ${path}: "${metric}" is not a metered feature of the catalog`, {
    issues: [{ path, message: "not a metered feature of the catalog" }],
  });

export class PayloadTooLarge extends AppError {
  constructor(limit: number) {
    super("PAYLOAD_TOO_LARGE", `The body is larger than ${limit} bytes.`, { limit });
  }
}

export class ServiceUnavailable extends AppError {
  constructor() {
    super("SERVICE_UNAVAILABLE", "The service is briefly unavailable; retry with the same request_id.", {}, { "Retry-After": "1" });
  }
}

/** A Zod error's issues as VALIDATION_FAILED's `details.issues` name them: by path ("(root)" for the whole input). */
export const validationIssues = (error: z.ZodError) => error.issues.map((i) => ({ path: i.path.map(String).join(".") || "(root)", message: i.message }));

/**
 * What a page says of a field's issues, by the field's top-level name: a sentence in the person's
 * terms (dollars, not cents), or one chosen from the issue (too long, not missing).
 */
export type PlainWords = Record<string, string | ((issue: z.core.$ZodIssue) => string)>;

/**
 * Parses input with a Zod schema; a mismatch is VALIDATION_FAILED naming each issue by path. With
 * `plain` (the portal's forms), the message is the plain sentence of each field that has one, the
 * schema's words only for a field that has none; `details.issues` stay the schema's either way.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, plain?: PlainWords): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = validationIssues(result.error);
  if (!plain) throw new AppError("VALIDATION_FAILED", `Invalid input: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, { issues });
  const sentences = result.error.issues.map((issue, n) => {
    const words = plain[String(issue.path[0])];
    return words === undefined ? `${issues[n].path}: ${issues[n].message}.` : typeof words === "string" ? words : words(issue);
  });
  throw new AppError("VALIDATION_FAILED", [...new Set(sentences)].join(" "), { issues });
}
