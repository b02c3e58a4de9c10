// The client against the real app: typed answers, the hard stop under concurrency, typed errors,
// and retries that reuse the request_id so a lost answer is replayed, never counted twice.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "../../app/server/platform/db.server";
import { startApp, type TestApp } from "../../test/app";
import { type Contract, contractFetch } from "../../test/contract";
import { countsOf, orgWithKey } from "../../test/factories";
import { IdempotencyConflictError, Metered, MeteredApiError, type RecordResult } from "../src/index";
import { flakyFront, lossyProxy } from "./faults";

let app: TestApp;
let contract: Contract;
beforeAll(async () => {
  app = await startApp();
  contract = contractFetch(app.url);
});
afterAll(async () => {
  await app.stop();
});

// Every answer the app gives these clients is checked against the OpenAPI document.
const client = (apiKey: string, baseUrl = app.url, extra: Partial<ConstructorParameters<typeof Metered>[0]> = {}) =>
  new Metered({ apiKey, baseUrl, backoffMs: 20, fetch: contract.fetch, ...extra });

describe("answers", () => {
  test("quota answers the typed summary of the org's period", async () => {
    const org = await orgWithKey({ included: 10 });
    const q = await client(org.key).quota({ metric: "api_call" });
    expect(q).toMatchObject({ allow: true, remaining: 10, used: 0, included: 10, metric: "api_call", planCode: "starter", status: "active" });
    expect(q.periodKey).toMatch(/^\d{4}-\d{2}$/);
    expect(Date.parse(q.periodEnd)).toBeGreaterThan(Date.parse(q.periodStart));
  });

  test("record counts once with a fresh UUIDv7, and a repeat of the same requestId is a replay", async () => {
    const org = await orgWithKey({ included: 10 });
    const metered = client(org.key);
    const first = await metered.record({ quantity: 2 });
    if (!first.admitted || first.decidedBy !== "platform") throw new Error(`not admitted: ${JSON.stringify(first)}`);
    expect(first.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first).toMatchObject({ replayed: false, quantity: 2, used: 2, remaining: 8, included: 10, metric: "api_call" });
    const again = await metered.record({ requestId: first.requestId, quantity: 2 });
    expect(again).toEqual({ ...first, replayed: true });
    expect(await countsOf(org.orgId)).toEqual({ used: 2, ledger: 2, rows: 1 });
  });

  test("past the quota the result is a typed denial with retryAfter, and nothing is counted", async () => {
    const org = await orgWithKey({ included: 1 });
    const metered = client(org.key);
    expect((await metered.record()).admitted).toBe(true);
    const denied = await metered.record();
    if (denied.admitted || denied.decidedBy !== "platform") throw new Error(`not a platform denial: ${JSON.stringify(denied)}`);
    expect(denied.reason).toBe("quota_exceeded");
    expect(denied.retryAfter).toBeGreaterThan(0);
    expect(denied).toMatchObject({ used: 1, included: 1 });
    expect(await countsOf(org.orgId)).toEqual({ used: 1, ledger: 1, rows: 1 });
  });

  test("past the included units on overage, the split is typed; past the spend cap the result is a typed denial", async () => {
    const org = await orgWithKey({ plan: "growth" });
    await sql`
      insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used, overage_price_cents, overage_per)
      select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 1, 0, 40, 1
        from subscriptions where org_id = ${org.orgId}`;
    await sql`insert into org_spend_caps (org_id, amount_cents) values (${org.orgId}, 50)`;
    const metered = client(org.key);
    const over = await metered.record({ quantity: 2 });
    if (!over.admitted || over.decidedBy !== "platform") throw new Error(`not admitted: ${JSON.stringify(over)}`);
    expect(over.admittedAs).toEqual({ included: 1, credits: 0, overage: 1 });
    const capped = await metered.record();
    if (capped.admitted || capped.decidedBy !== "platform") throw new Error(`not a platform denial: ${JSON.stringify(capped)}`);
    expect(capped).toMatchObject({ reason: "spend_cap_reached", metric: "api_call", capCents: 50, overageCents: 40 });
    expect(capped.retryAfter).toBeGreaterThan(0);
  });
});

describe("the hard stop under concurrency", () => {
  test("60 concurrent records against 20 included units: exactly 20 admitted, 20 counted", async () => {
    const org = await orgWithKey({ included: 20 });
    const metered = client(org.key);
    const results = await Promise.all(Array.from({ length: 60 }, () => metered.record()));
    const admitted = results.filter((r) => r.admitted && r.decidedBy === "platform");
    const denied = results.filter((r) => !r.admitted && r.decidedBy === "platform" && r.reason === "quota_exceeded");
    expect(admitted.length).toBe(20);
    expect(denied.length).toBe(40);
    expect(new Set(results.map((r) => r.requestId)).size).toBe(60);
    expect(await countsOf(org.orgId)).toEqual({ used: 20, ledger: 20, rows: 20 });
  });
});

describe("typed errors", () => {
  test("the same requestId with another quantity throws IdempotencyConflictError and counts nothing more", async () => {
    const org = await orgWithKey({ included: 10 });
    const metered = client(org.key);
    const first = await metered.record({ requestId: "job-42" });
    expect(first.admitted).toBe(true);
    const err = await metered.record({ requestId: "job-42", quantity: 3 }).catch((e) => e);
    expect(err).toBeInstanceOf(IdempotencyConflictError);
    expect(err).toMatchObject({ status: 409, code: "IDEMPOTENCY_CONFLICT", details: { request_id: "job-42" } });
    expect(err.requestId).toBe("job-42"); // the answer's x-request-id: the client sends the request_id
    expect(await countsOf(org.orgId)).toEqual({ used: 1, ledger: 1, rows: 1 });
  });

  test("an unknown key throws MeteredApiError UNAUTHENTICATED with the envelope's message and the answer's x-request-id", async () => {
    const err = await client(`mk_test_${"A".repeat(32)}`)
      .quota()
      .catch((e) => e);
    expect(err).toBeInstanceOf(MeteredApiError);
    expect(err).toMatchObject({ status: 401, code: "UNAUTHENTICATED" });
    expect(typeof err.message).toBe("string");
    expect(err.requestId).toBeTruthy();
  });

  test("a metric the catalog does not meter throws VALIDATION_FAILED with the issues in details", async () => {
    const org = await orgWithKey();
    const err = await client(org.key)
      .record({ metric: "widgets" })
      .catch((e) => e);
    expect(err).toMatchObject({ status: 400, code: "VALIDATION_FAILED" });
    expect(err.details.issues).toEqual([{ path: "metric", message: "not a metered feature of the catalog" }]);
  });

  test("several features at once: counted all or none, the denial naming the feature that does not fit", async () => {
    const org = await orgWithKey();
    const c = client(org.key);
    const admitted = await c.record({ requestId: "parts-1", quantities: { api_call: 1, tokens: 1532 } });
    expect(admitted).toMatchObject({
      admitted: true,
      replayed: false,
      requestId: "parts-1",
      features: { api_call: { quantity: 1, used: 1 }, tokens: { quantity: 1532, used: 1532, included: 5_000_000 } },
    });
    expect(await c.record({ requestId: "parts-1", quantities: { tokens: 1532, api_call: 1 } })).toMatchObject({ admitted: true, replayed: true });
    const denied = await c.record({ quantities: { api_call: 50_000, tokens: 1 } });
    expect(denied).toMatchObject({ admitted: false, reason: "quota_exceeded", metric: "api_call", used: 1, included: 50_000 });
    const conflict = await c.record({ requestId: "parts-1", quantities: { api_call: 2, tokens: 1532 } }).catch((e) => e);
    expect(conflict).toBeInstanceOf(IdempotencyConflictError);
  });

  test("an org without a subscription throws SUBSCRIPTION_INACTIVE (402), not a denial", async () => {
    const org = await orgWithKey({ plan: null });
    const err = await client(org.key)
      .record()
      .catch((e) => e);
    expect(err).toMatchObject({ status: 402, code: "SUBSCRIPTION_INACTIVE" });
  });
});

describe("retries reuse the request_id", () => {
  test("an answer lost on the network after the app counted: the retry is a replay, counted once", async () => {
    const org = await orgWithKey({ included: 10 });
    const proxy = await lossyProxy(app.url, 1);
    try {
      const result: RecordResult = await client(org.key, proxy.url).record();
      expect(proxy.connections).toBe(2);
      expect(result).toMatchObject({ admitted: true, decidedBy: "platform", replayed: true, used: 1 });
      expect(await countsOf(org.orgId)).toEqual({ used: 1, ledger: 1, rows: 1 });
    } finally {
      await proxy.close();
    }
  });

  test("a 503 after the app counted is retried with the same body: replayed, counted once", async () => {
    const org = await orgWithKey({ included: 10 });
    const front = flakyFront(app.url, { failures: 2, forward: true, retryAfter: "0" });
    try {
      const result = await client(org.key, front.url).record({ quantity: 3 });
      expect(front.seen.length).toBe(3);
      expect(new Set(front.seen.map((s) => s.body)).size).toBe(1);
      expect(result).toMatchObject({ admitted: true, replayed: true, used: 3 });
      expect(await countsOf(org.orgId)).toEqual({ used: 3, ledger: 3, rows: 1 });
    } finally {
      front.stop();
    }
  });

  test("Retry-After is honoured: the retry waits at least that long", async () => {
    const org = await orgWithKey({ included: 10 });
    const front = flakyFront(app.url, { failures: 1, forward: false, retryAfter: "1" });
    try {
      const result = await client(org.key, front.url).record();
      expect(result).toMatchObject({ admitted: true, replayed: false });
      expect(front.seen[1].at - front.seen[0].at).toBeGreaterThanOrEqual(1000);
    } finally {
      front.stop();
    }
  });
});

test("every answer of the app in these tests matches the OpenAPI document (status, headers, body)", () => {
  expect(contract.violations).toEqual([]);
  expect(contract.checked()).toBeGreaterThan(60);
});
