// One HTTP exchange with retries. A call is repeated, byte for byte (so with the same request_id),
// after a network error, a timeout, a 5xx or a RATE_LIMITED 429, with exponential backoff and
// full jitter, never sooner than the answer's Retry-After, and never past the overall deadline.
import { MeteredUnavailableError } from "./errors.js";

export type TransportOptions = {
  apiKey: string;
  baseUrl: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  /** For the whole call, retries and waits included. */
  deadlineMs: number;
  backoffMs: number;
  maxBackoffMs: number;
  fetch: FetchLike;
};

/** The part of `fetch` the client uses; any runtime's global fetch fits. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export type ApiAnswer = { status: number; headers: Headers; body: unknown };

type Call = { method: "GET" | "POST"; path: string; body?: unknown; headers?: Record<string, string> };

/** Seconds of a Retry-After header (delta-seconds or an HTTP date), or null. */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function retryable(answer: ApiAnswer): boolean {
  if (answer.status >= 500 || answer.status === 408) return true;
  return answer.status === 429 && errorCode(answer.body) === "RATE_LIMITED";
}

export function errorCode(body: unknown): string | null {
  const error = (body as { error?: { code?: unknown } } | null)?.error;
  return typeof error?.code === "string" ? error.code : null;
}

function describe(answer: ApiAnswer): string {
  const code = errorCode(answer.body);
  return `HTTP ${answer.status}${code ? ` ${code}` : ""}`;
}

async function attempt(options: TransportOptions, call: Call, timeoutMs: number): Promise<ApiAnswer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await options.fetch(`${options.baseUrl}${call.path}`, {
      method: call.method,
      headers: {
        authorization: `Bearer ${options.apiKey}`,
        accept: "application/json",
        ...(call.body === undefined ? {} : { "content-type": "application/json" }),
        ...call.headers,
      },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: controller.signal,
    });
    // The body is read under the same timeout: a stalled body is a lost answer too.
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null; // not JSON (a proxy's error page): judged by its status alone
    }
    return { status: response.status, headers: response.headers, body };
  } finally {
    clearTimeout(timer);
  }
}

/** The first answer that retrying cannot change, or MeteredUnavailableError. */
export async function send(options: TransportOptions, call: Call): Promise<ApiAnswer> {
  const deadline = Date.now() + options.deadlineMs;
  let lastFailure = "deadline reached before the first attempt";
  let attempts = 0;
  for (let retry = 0; retry <= options.retries; retry++) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    attempts++;
    let waitAtLeastMs = 0;
    try {
      const answer = await attempt(options, call, Math.min(options.timeoutMs, left));
      if (!retryable(answer)) return answer;
      lastFailure = describe(answer);
      waitAtLeastMs = (retryAfterSeconds(answer.headers.get("retry-after")) ?? 0) * 1000;
    } catch (err) {
      lastFailure = (err as Error)?.name === "AbortError" ? "timeout" : `network error: ${(err as Error)?.message ?? String(err)}`;
    }
    if (retry === options.retries) break;
    // Full jitter: a random wait up to the exponential bound, so many clients do not retry in step.
    const bound = Math.min(options.maxBackoffMs, options.backoffMs * 2 ** retry);
    const waitMs = Math.max(waitAtLeastMs, Math.random() * bound);
    if (Date.now() + waitMs >= deadline) break;
    await sleep(waitMs);
  }
  throw new MeteredUnavailableError(lastFailure, attempts);
}
