// Typed errors of the client. Envelope errors carry the API's code, message, details and the
// x-request-id of the answer (quote it to support).
import type { ApiErrorCode } from "./types.js";

export class MeteredError extends Error {}

/** The API answered with an error envelope that retrying cannot fix (a 4xx). */
export class MeteredApiError extends MeteredError {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly details: Record<string, unknown>;
  /** The answer's `x-request-id`. */
  readonly requestId: string | null;

  constructor(input: { status: number; code: ApiErrorCode; message: string; details?: Record<string, unknown>; requestId?: string | null }) {
    super(input.message);
    this.name = "MeteredApiError";
    this.status = input.status;
    this.code = input.code;
    this.details = input.details ?? {};
    this.requestId = input.requestId ?? null;
  }
}

/** 409: this request_id was already used with another metric or quantity. Nothing was counted. */
export class IdempotencyConflictError extends MeteredApiError {
  constructor(input: ConstructorParameters<typeof MeteredApiError>[0]) {
    super(input);
    this.name = "IdempotencyConflictError";
  }
}

/** No usable answer within the retries and the deadline (network errors, timeouts, 5xx). */
export class MeteredUnavailableError extends MeteredError {
  readonly attempts: number;
  /** What went wrong on the last attempt (e.g. `timeout`, `HTTP 503 SERVICE_UNAVAILABLE`). */
  readonly lastFailure: string;

  constructor(lastFailure: string, attempts: number) {
    super(`The Metered API could not be reached after ${attempts} attempt(s): ${lastFailure}`);
    this.name = "MeteredUnavailableError";
    this.lastFailure = lastFailure;
    this.attempts = attempts;
  }
}
