// Test switches that make the local Stripe refuse requests the way Stripe does when it is busy or
// the key is wrong: 429 `rate_limit` (with `Stripe-Rate-Limited-Reason`), 429 `lock_timeout`
// (with `Stripe-Should-Retry: true`), 401 for an invalid key, 403 for a restricted key's missing
// permission, or any error object a test spells out. A refused request never reaches its handler
// and is not saved under its Idempotency-Key, as Stripe saves no result for a request it did not
// start executing: the same request with the same key runs once the switch is off.
// A hang switch holds matching requests unanswered, as a Stripe that stopped answering; when it is
// cleared, the requests it held run after all (late, as a Stripe that recovers executes what it
// had received), though the client that sent them may have given up long before.
import type { Params } from "./route";

/** Which limiter refused the request (Stripe's rate-limits page lists these values of the header). */
export type RateLimitedReason = "global-rate" | "endpoint-rate" | "global-concurrency" | "endpoint-concurrency" | "resource-specific";

/** A Stripe error object a test spells out (e.g. a 400 worded differently). */
export type CustomFault = { status: number; type: string; message: string; code?: string; param?: string; headers?: Record<string, string> };
export type StripeFault = "rate_limit" | "lock_timeout" | "invalid_api_key" | "restricted_key" | CustomFault;

export type FaultOptions = {
  /** Only this method (`POST`, `GET`, …). */
  method?: string;
  /** Only this path (`/v1/billing/meter_events`), or paths it matches. */
  path?: string | RegExp;
  /** Only requests whose parameters pass (e.g. one meter event identifier). */
  when?: (params: Params) => boolean;
  /** Refuse this many matching requests, then let them through (default: until cleared). */
  times?: number;
  /** `rate_limit`: the `Stripe-Rate-Limited-Reason` header (default `global-rate`). */
  reason?: RateLimitedReason;
  /** Adds `Retry-After: <seconds>` (Stripe does not document one; a proxy in front of it may add it). */
  retryAfter?: number;
};

/** A switch that is on: how many requests it has refused, and how to turn it off. */
export type FaultSwitch = { readonly hits: number; clear(): void };

type Entry = { fault: StripeFault | "hang"; options: FaultOptions; hits: number; cleared: boolean; released?: Promise<void> };

const docUrl = (code: string) => `https://stripe.com/docs/error-codes/${code.replaceAll("_", "-")}`;

/** `sk_test_abc…wxyz` as Stripe shows a key in its errors: the prefix, asterisks, the last four. */
export function masked(key: string): string {
  const prefix = /^[a-z]+_(test|live)_/.exec(key)?.[0] ?? "";
  const rest = key.slice(prefix.length);
  return `${prefix}${"*".repeat(Math.max(0, rest.length - 4))}${rest.slice(-4)}`;
}

/** The permission a restricted key would need: `rak_<resource>_<read|write>`, named after the path. */
function permission(method: string, path: string): string {
  const resource = path
    .replace(/^\/v1\//, "")
    .split("/")
    .filter((part) => !/^[a-z]+_(?=[a-z]*[A-Z0-9])[A-Za-z0-9]{14,}$/.test(part))
    .join("_")
    .replace(/s$/, "");
  return `rak_${resource}_${method === "GET" ? "read" : "write"}`;
}

function errorBody(fault: StripeFault, method: string, path: string, key: string, options: FaultOptions) {
  switch (fault) {
    case "rate_limit":
      return {
        status: 429,
        error: {
          code: "rate_limit",
          doc_url: docUrl("rate_limit"),
          message:
            "Testmode request rate limit exceeded, the rate limits in testmode are lower than livemode. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
          type: "invalid_request_error",
        },
        headers: { "stripe-rate-limited-reason": options.reason ?? "global-rate" } as Record<string, string>,
      };
    case "lock_timeout":
      return {
        status: 429,
        error: {
          code: "lock_timeout",
          doc_url: docUrl("lock_timeout"),
          message:
            "This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request. If you see this error frequently and are making multiple concurrent requests to a single object, make your requests serially or at a lower rate.",
          type: "invalid_request_error",
        },
        // Stripe asks its SDKs to retry a lock timeout (the stripe SDK honours this header).
        headers: { "stripe-should-retry": "true" } as Record<string, string>,
      };
    case "invalid_api_key":
      return {
        status: 401,
        error: { message: `Invalid API Key provided: ${masked(key)}`, type: "invalid_request_error" },
        headers: { "www-authenticate": 'Basic realm="Stripe"' } as Record<string, string>,
      };
    case "restricted_key":
      return {
        status: 403,
        error: {
          message: `The provided key '${masked(key)}' does not have the required permissions for this endpoint on account 'acct_local'. Having the '${permission(method, path)}' permission would allow this request to continue.`,
          type: "invalid_request_error",
        },
        headers: {} as Record<string, string>,
      };
    default: {
      const { status, type, message, code, param, headers } = fault;
      return {
        status,
        error: { ...(code ? { code, doc_url: docUrl(code) } : {}), message, ...(param ? { param } : {}), type },
        headers: headers ?? {},
      };
    }
  }
}

export class Faults {
  private entries: Entry[] = [];

  /** Turns a switch on; it refuses matching requests until cleared or its `times` are spent. */
  add(fault: StripeFault, options: FaultOptions = {}): FaultSwitch {
    return this.switchOf({ fault, options, hits: 0, cleared: false });
  }

  /** Turns a hang switch on: matching requests get no answer until it is cleared, then run. */
  hang(options: FaultOptions = {}): FaultSwitch {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const entry: Entry = { fault: "hang", options, hits: 0, cleared: false, released };
    const on = this.switchOf(entry);
    return {
      get hits() {
        return on.hits;
      },
      clear: () => {
        on.clear();
        release();
      },
    };
  }

  private switchOf(entry: Entry): FaultSwitch {
    this.entries.push(entry);
    return {
      get hits() {
        return entry.hits;
      },
      clear: () => {
        entry.cleared = true;
        this.entries = this.entries.filter((e) => e !== entry);
      },
    };
  }

  private matching(method: string, path: string, params: Params, hang: boolean): Entry | undefined {
    const entry = this.entries.find(
      (e) =>
        !e.cleared &&
        (e.fault === "hang") === hang &&
        (e.options.times === undefined || e.hits < e.options.times) &&
        (!e.options.method || e.options.method === method) &&
        (!e.options.path || (typeof e.options.path === "string" ? e.options.path === path : e.options.path.test(path))) &&
        (!e.options.when || e.options.when(params)),
    );
    if (entry) entry.hits++;
    return entry;
  }

  /** Resolves when this request may go on: at once, or when the hang switch holding it is cleared. */
  async held(method: string, path: string, params: Params): Promise<void> {
    await this.matching(method, path, params, true)?.released;
  }

  /** The refusal for this request if a switch matches it (counting the hit), else null. */
  answer(method: string, path: string, params: Params, authorization: string, headers: Record<string, string>): Response | null {
    const entry = this.matching(method, path, params, false);
    if (!entry || entry.fault === "hang") return null;
    const key = authorization.replace(/^Bearer\s+/i, "");
    const { status, error, headers: extra } = errorBody(entry.fault, method, path, key, entry.options);
    const retryAfter: Record<string, string> = entry.options.retryAfter === undefined ? {} : { "retry-after": String(entry.options.retryAfter) };
    return Response.json({ error }, { status, headers: { ...headers, ...extra, ...retryAfter } });
  }
}
