// The local Stripe's refusal switches answer through the SDK as Stripe does: the SDK's error class,
// status, type, code, doc_url, message and headers; a refused request is not kept under its
// Idempotency-Key; a lock timeout is retried by the SDK itself.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import type { FaultOptions, StripeFault } from "./faults";
import { type StripeLocal, startStripeLocal } from "./index";
import { refusal } from "./test-support";

let local: StripeLocal;
let stripe: Stripe;
const client = (maxNetworkRetries: number) => new Stripe("sk_test_faults", { host: "127.0.0.1", port: local.port, protocol: "http", maxNetworkRetries });

beforeAll(async () => {
  local = await startStripeLocal({ port: 0, databaseUrl: process.env.DATABASE_URL!, schema: "stripe_faults_test" });
  stripe = client(0);
});
afterAll(async () => {
  await local.stop();
});

/** What the SDK threw; the call must fail. */

const listPrices = () => stripe.prices.list({ limit: 1 });

/** The SDK's error for a list of prices while the switch is on (cleared after), and how many requests it refused. */
async function refusedWhile(fault: StripeFault, options: FaultOptions = {}) {
  const on = local.failRequests(fault, options);
  try {
    return { err: await refusal(listPrices()), hits: on.hits };
  } finally {
    on.clear();
  }
}

describe("429: Stripe is busy", () => {
  test("rate_limit: StripeRateLimitError, invalid_request_error with code rate_limit, the limiter named in Stripe-Rate-Limited-Reason", async () => {
    const { err, hits } = await refusedWhile("rate_limit");
    expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect([err.statusCode, err.rawType, err.code]).toEqual([429, "invalid_request_error", "rate_limit"]);
    expect(err.doc_url).toBe("https://stripe.com/docs/error-codes/rate-limit");
    expect(err.message).toStartWith("Testmode request rate limit exceeded");
    expect(err.headers?.["stripe-rate-limited-reason"]).toBe("global-rate");
    expect(err.headers?.["stripe-version"]).toBe(Stripe.API_VERSION);
    expect(err.requestId).toStartWith("req_");
    // No Retry-After unless asked for: Stripe documents none.
    expect(err.headers?.["retry-after"]).toBeUndefined();
    expect(hits).toBe(1);
    expect((await listPrices()).object).toBe("list");
  });

  test("another limiter and a Retry-After can be asked for", async () => {
    const { err } = await refusedWhile("rate_limit", { reason: "endpoint-concurrency", retryAfter: 3 });
    expect(err.headers?.["stripe-rate-limited-reason"]).toBe("endpoint-concurrency");
    expect(err.headers?.["retry-after"]).toBe("3");
  });

  test("a rate-limited request is not saved under its Idempotency-Key: the same request runs once the limit passes", async () => {
    const key = `faults-${crypto.randomUUID()}`;
    const on = local.failRequests("rate_limit", { method: "POST", path: "/v1/customers" });
    const first = await refusal(stripe.customers.create({ email: "busy@example.com" }, { idempotencyKey: key }));
    expect(first.statusCode).toBe(429);
    on.clear();
    const made = await stripe.customers.create({ email: "busy@example.com" }, { idempotencyKey: key });
    const again = await stripe.customers.create({ email: "busy@example.com" }, { idempotencyKey: key });
    expect(again.id).toBe(made.id);
  });

  test("lock_timeout: a 429 with code lock_timeout that asks to be retried; the SDK retries it by itself", async () => {
    const { err } = await refusedWhile("lock_timeout", { path: "/v1/prices" });
    expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect([err.statusCode, err.rawType, err.code]).toEqual([429, "invalid_request_error", "lock_timeout"]);
    expect(err.doc_url).toBe("https://stripe.com/docs/error-codes/lock-timeout");
    expect(err.message).toStartWith("This object cannot be accessed right now because another API request or Stripe process is currently accessing it.");
    expect(err.headers?.["stripe-should-retry"]).toBe("true");
    expect(err.headers?.["stripe-rate-limited-reason"]).toBeUndefined();
    // One lock timeout, and a client that retries: the caller never sees it.
    const once = local.failRequests("lock_timeout", { path: "/v1/prices", times: 1 });
    expect((await client(1).prices.list({ limit: 1 })).object).toBe("list");
    expect(once.hits).toBe(1);
  });
});

describe("401 and 403: the key", () => {
  test("invalid_api_key: StripeAuthenticationError, the key masked in the message, no code", async () => {
    const { err } = await refusedWhile("invalid_api_key");
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect([err.statusCode, err.rawType, err.code]).toEqual([401, "invalid_request_error", undefined]);
    expect(err.message).toBe("Invalid API Key provided: sk_test_**ults");
    expect(err.headers?.["www-authenticate"]).toBe('Basic realm="Stripe"');
  });

  test("restricted_key: StripePermissionError on the one endpoint the key may not use, naming the permission", async () => {
    const on = local.failRequests("restricted_key", { method: "POST", path: "/v1/billing/meter_events" });
    try {
      expect((await listPrices()).object).toBe("list");
      const err = await refusal(stripe.billing.meterEvents.create({ event_name: "x", payload: { value: "1", stripe_customer_id: "cus_x" } }));
      expect(err).toBeInstanceOf(Stripe.errors.StripePermissionError);
      expect([err.statusCode, err.rawType, err.code]).toEqual([403, "invalid_request_error", undefined]);
      expect(err.message).toBe(
        "The provided key 'sk_test_**ults' does not have the required permissions for this endpoint on account 'acct_local'. Having the 'rak_billing_meter_event_write' permission would allow this request to continue.",
      );
    } finally {
      on.clear();
    }
  });
});

describe("a refusal a test spells out", () => {
  test("matches by parameters and stops after `times`", async () => {
    const on = local.failRequests(
      { status: 400, type: "invalid_request_error", message: "Something new." },
      { path: "/v1/customers", method: "POST", when: (p) => p.email === "odd@example.com", times: 1 },
    );
    expect((await stripe.customers.create({ email: "even@example.com" })).email).toBe("even@example.com");
    const err = await refusal(stripe.customers.create({ email: "odd@example.com" }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect([err.statusCode, err.message, err.code]).toEqual([400, "Something new.", undefined]);
    expect((await stripe.customers.create({ email: "odd@example.com" })).email).toBe("odd@example.com");
    expect(on.hits).toBe(1);
  });
});
