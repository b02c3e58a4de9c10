// Idempotency keys for the requests the app sends Stripe. Stripe keeps a key for 24 hours and
// answers 400 (idempotency_error) when it comes back with other parameters, so a key must name
// one request body for good: each key here ends in a digest of the body it is sent with (and of
// whatever else names the request, such as the object in its path). The readable prefix says
// which change it is; the digest makes a key for another body another key. A retry that sends
// the same body gets the same key, and Stripe replays the first answer.
import { createHash } from "node:crypto";

/** Stripe's limit on an idempotency key's length. */
export const MAX_KEY_LENGTH = 255;
const DIGEST_LENGTH = 32;

/** JSON with object keys sorted: equal bodies give equal text, whatever order their keys were written in. */
export function canonical(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

/** SHA-256 of the canonical JSON, in hex, cut to 128 bits. */
export function digest(value: unknown): string {
  return createHash("sha256").update(canonical(value)).digest("hex").slice(0, DIGEST_LENGTH);
}

/**
 * The key for a request: `prefix` (which change, for whom) and a digest of `body` (everything
 * the request sends, and the id in its path when it has one). A prefix too long to fit is
 * shortened, its digest kept, so two long prefixes never collapse into one key.
 */
export function requestKey(prefix: string, body: unknown): string {
  const room = MAX_KEY_LENGTH - DIGEST_LENGTH - 1;
  const head = prefix.length <= room ? prefix : `${prefix.slice(0, room - DIGEST_LENGTH - 1)}~${digest(prefix)}`;
  return `${head}:${digest(body)}`;
}
