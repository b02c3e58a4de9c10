// @metered/client: quota checks, exactly-once usage records with safe retries, and metering
// middleware for fetch-style handlers and Express/Connect. No runtime dependencies.

export { IdempotencyConflictError, MeteredApiError, MeteredError, MeteredUnavailableError } from "./errors.js";
export { Metered, type MeteredOptions, type RecordInput, type RecordPartsInput } from "./metered.js";
export type { ExpressMiddleware, FetchHandler, MeterOptions, NodeLikeRequest, NodeLikeResponse } from "./middleware.js";
export type { FetchLike } from "./transport.js";
export type {
  Admitted,
  AdmittedParts,
  ApiErrorCode,
  DecidedByPolicy,
  Entitlement,
  Entitlements,
  ErrorEnvelope,
  OnUnavailable,
  QuotaExceeded,
  QuotaSummary,
  RecordPartsResult,
  RecordResult,
  SpendCapReached,
  SuccessEnvelope,
  UsageRecord,
  UsageRecordParts,
} from "./types.js";
export { API_ERROR_CODES } from "./types.js";
export { ensureRandomSource, uuidv7, uuidv7Generator } from "./uuidv7.js";
