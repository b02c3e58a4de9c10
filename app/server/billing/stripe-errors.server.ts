// What a failed Stripe call means to the app. Three troubles make Stripe unusable for a while, and
// none of them is a bug of ours (500):
// - busy: 429, `rate_limit` (too many requests a second) or `lock_timeout` (an object another
//   request holds). Callers get 503 UPSTREAM_UNAVAILABLE with Retry-After; jobs stop and retry later.
// - key: 401 (a wrong, expired or revoked key) or 403 (a restricted key without a permission).
//   Nothing works until an operator fixes STRIPE_SECRET_KEY: logged once at error and sent to
//   Sentry (noteStripeResponse), answered 503 without details, retried only slowly.
// - down: no answer (within the deadline: stripe-client.server.ts), a connection error, a 5xx, or
//   Stripe's breaker open. Callers get 503 "Stripe is not answering" with Retry-After: 60.
// Everything else Stripe refuses (400, 402, 404, 409 idempotency) is the caller's to handle.
import Stripe from "stripe";
import { observeStripe } from "../observe/metrics.server";
import { captureMessage } from "../observe/sentry.server";
import { AppError } from "../platform/errors.server";
import { log } from "../platform/log.server";

export type StripeTrouble =
  /** `retryAfter`: whole seconds to wait; `reason`: `lock_timeout` or the Stripe-Rate-Limited-Reason. */
  { kind: "busy"; retryAfter: number; reason: string } | { kind: "key"; status: 401 | 403 } | { kind: "down" };

/** A key Stripe refused is an operator's fix: callers are told to come back in a minute, not in a second. */
const KEY_RETRY_AFTER = 60;
/** A Stripe that does not answer is seldom back within seconds: the person is told a minute. */
const DOWN_RETRY_AFTER = 60;
const MAX_RETRY_AFTER = 600;

/**
 * How long Stripe asks us to wait: its Retry-After when it sends one (it documents none, a proxy
 * may add one); otherwise by the limiter that refused (Stripe-Rate-Limited-Reason): a concurrency
 * limit or a lock frees within a second, a per-second rate within two, a resource's own limit
 * (invoices a minute, updates an hour) within a minute at the earliest.
 */
function busyFor(err: Stripe.errors.StripeError): { retryAfter: number; reason: string } {
  const header = (name: string) => {
    const v = err.headers?.[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const reason = err.code === "lock_timeout" ? "lock_timeout" : (header("stripe-rate-limited-reason") ?? "rate_limit");
  const given = header("retry-after");
  const seconds = given === undefined ? Number.NaN : /^\d+$/.test(given) ? Number(given) : (Date.parse(given) - Date.now()) / 1000;
  if (Number.isFinite(seconds)) return { retryAfter: Math.min(MAX_RETRY_AFTER, Math.max(1, Math.ceil(seconds))), reason };
  const byReason: Record<string, number> = { lock_timeout: 1, "global-concurrency": 1, "endpoint-concurrency": 1, "resource-specific": 60 };
  return { retryAfter: byReason[reason] ?? 2, reason };
}

/** The trouble a Stripe call failed with, or null when Stripe answered and refused the request itself. */
export function stripeTrouble(err: unknown): StripeTrouble | null {
  if (err instanceof StripeUnavailable) return err.trouble;
  if (!(err instanceof Stripe.errors.StripeError)) return null;
  const status = err.statusCode ?? 0;
  if (err instanceof Stripe.errors.StripeRateLimitError || status === 429) return { kind: "busy", ...busyFor(err) };
  if (err instanceof Stripe.errors.StripeAuthenticationError || status === 401) return { kind: "key", status: 401 };
  if (err instanceof Stripe.errors.StripePermissionError || status === 403) return { kind: "key", status: 403 };
  if (err instanceof Stripe.errors.StripeConnectionError || err instanceof Stripe.errors.StripeAPIError || status >= 500) return { kind: "down" };
  return null;
}

const MESSAGES: Record<StripeTrouble["kind"], string> = {
  busy: "Billing is busy; please try again in a few seconds.",
  key: "Billing is unavailable right now; please try again later.",
  down: "Stripe is not answering, try again in a minute.",
};

/** UPSTREAM_UNAVAILABLE (503) carrying why, with Retry-After. Never Stripe's own words. */
export class StripeUnavailable extends AppError {
  constructor(readonly trouble: StripeTrouble) {
    const retryAfter = trouble.kind === "busy" ? trouble.retryAfter : trouble.kind === "key" ? KEY_RETRY_AFTER : DOWN_RETRY_AFTER;
    super("UPSTREAM_UNAVAILABLE", MESSAGES[trouble.kind], {}, { "Retry-After": String(retryAfter) });
  }
}

/** Stripe cannot be used right now: busy, the key refused, or down (or a call already said so). */
export function isStripeUnavailable(err: unknown): boolean {
  return stripeTrouble(err) !== null || (err instanceof AppError && err.code === "UPSTREAM_UNAVAILABLE");
}

/** Runs a Stripe call; Stripe busy, refusing the key or down becomes UPSTREAM_UNAVAILABLE (503), not a 500. */
export async function upstream<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const trouble = stripeTrouble(err);
    if (trouble && !(err instanceof StripeUnavailable)) throw new StripeUnavailable(trouble);
    throw err;
  }
}

// ---- the operator alarm -----------------------------------------------------------------------

const alarmed = new Set<string>();

/** `/v1/customers/cus_N9…?expand[]=x` → `/v1/customers/{id}`: one alarm per endpoint, not per object. */
const endpointOf = (path: string) =>
  path
    .split("?")[0]
    .split("/")
    .map((part) => (/^[a-z]+_(?=[a-z]*[A-Z0-9])[A-Za-z0-9]+$/.test(part) ? "{id}" : part))
    .join("/");

/**
 * Sees every Stripe response (the client's `response` event): counts it by outcome, and raises
 * the operator alarm. A 401 or 403 means the key, not the request: logged once per process at
 * error, and sent to Sentry, the first time it is seen (per endpoint for a 403, since a restricted
 * key can lack several permissions). The key only changes with a restart, so once is enough;
 * callers and jobs meanwhile get 503 and back off.
 */
export function noteStripeResponse(r: { status: number; method: string; path: string; request_id?: string }): void {
  const refusedKey = r.status === 401 || r.status === 403;
  observeStripe(r.status < 400 ? "ok" : r.status === 429 ? "rate_limited" : refusedKey ? "key_refused" : r.status < 500 ? "client_error" : "server_error");
  if (!refusedKey) return;
  const endpoint = `${r.method} ${endpointOf(r.path)}`;
  const key = r.status === 401 ? "401" : `403 ${endpoint}`;
  if (alarmed.has(key)) return;
  alarmed.add(key);
  const message =
    r.status === 401
      ? "Stripe refused the API key (401): STRIPE_SECRET_KEY is wrong, expired or revoked. Billing answers 503 and usage is not reported until the key is replaced and the processes restarted."
      : `Stripe refused the API key's permission for ${endpoint} (403): the restricted key lacks a permission the app needs. That call answers 503 until the key is given the permission (or replaced) and the processes restarted.`;
  log.error({ stripeStatus: r.status, endpoint, stripeRequestId: r.request_id }, message);
  captureMessage(message, { stripe_status: r.status, endpoint });
}
