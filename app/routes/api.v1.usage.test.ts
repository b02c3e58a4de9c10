// Bad input, authentication and tenant isolation on the hot routes (quota check, usage record): every case is a
// 4xx in the envelope, and nothing changes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../test/app";
import { api, countsOf, orgWithKey, rid } from "../../test/factories";
import { revokeApiKey } from "../server/auth/keys.server";

let app: TestApp;
let org: Awaited<ReturnType<typeof orgWithKey>>;
beforeAll(async () => {
  app = await startApp({ KEY_CACHE_TTL_MS: "1000" });
  org = await orgWithKey();
});
afterAll(async () => {
  await app.stop();
});

async function expectError(r: Response, status: number, code: string) {
  expect(r.status).toBe(status);
  expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
  expect(r.headers.get("x-request-id")).toBeTruthy();
  expect(r.headers.get("x-corr-id")).toBeTruthy();
  const b = (await r.json()) as any;
  expect(b.ok).toBe(false);
  expect(b.error.code).toBe(code);
  expect(typeof b.error.message).toBe("string");
  expect(JSON.stringify(b)).not.toMatch(/at .*\.(ts|js):\d+|select |insert |postgres/i);
  return b.error;
}

const long = "x".repeat(129);
const badBodies: [string, unknown, string][] = [
  ["missing request_id", { quantity: 1 }, "VALIDATION_FAILED"],
  ["empty request_id", { request_id: "" }, "VALIDATION_FAILED"],
  ["overlong request_id", { request_id: long }, "VALIDATION_FAILED"],
  ["request_id with spaces", { request_id: "a b" }, "VALIDATION_FAILED"],
  ["request_id with unicode", { request_id: "réq" }, "VALIDATION_FAILED"],
  ["request_id as a number", { request_id: 12 }, "VALIDATION_FAILED"],
  ["request_id as null", { request_id: null }, "VALIDATION_FAILED"],
  ["unknown metric", { request_id: "ok1", metric: "widgets" }, "VALIDATION_FAILED"],
  ["a feature that is not metered", { request_id: "ok1", metric: "sso" }, "VALIDATION_FAILED"],
  ["quantities with an unknown feature", { request_id: "ok1", quantities: { api_call: 1, widgets: 2 } }, "VALIDATION_FAILED"],
  ["quantities and metric", { request_id: "ok1", quantities: { api_call: 1, tokens: 2 }, metric: "api_call" }, "VALIDATION_FAILED"],
  ["empty quantities", { request_id: "ok1", quantities: {} }, "VALIDATION_FAILED"],
  ["quantities as an array", { request_id: "ok1", quantities: [1, 2] }, "VALIDATION_FAILED"],
  ["a huge quantity in quantities", { request_id: "ok1", quantities: { api_call: 1, tokens: 1_000_001 } }, "VALIDATION_FAILED"],
  ["metric as a number", { request_id: "ok1", metric: 1 }, "VALIDATION_FAILED"],
  ["quantity 0", { request_id: "ok1", quantity: 0 }, "VALIDATION_FAILED"],
  ["negative quantity", { request_id: "ok1", quantity: -5 }, "VALIDATION_FAILED"],
  ["fractional quantity", { request_id: "ok1", quantity: 1.5 }, "VALIDATION_FAILED"],
  ["quantity as a string", { request_id: "ok1", quantity: "5" }, "VALIDATION_FAILED"],
  ["huge quantity", { request_id: "ok1", quantity: 1_000_001 }, "VALIDATION_FAILED"],
  ["astronomical quantity", { request_id: "ok1", quantity: 1e308 }, "VALIDATION_FAILED"],
  ["unknown field", { request_id: "ok1", orgId: "org_other" }, "VALIDATION_FAILED"],
  ["array body", [{ request_id: "ok1" }], "VALIDATION_FAILED"],
  ["null body", null, "VALIDATION_FAILED"],
  ["string body", '"hello"', "VALIDATION_FAILED"],
  ["malformed JSON", '{"request_id": ', "MALFORMED_JSON"],
  ["empty body", "", "MALFORMED_JSON"],
];

describe("usage record: bad input changes nothing", () => {
  for (const [name, input, code] of badBodies) {
    test(`${name} → ${code}`, async () => {
      const before = await countsOf(org.orgId);
      const err = await expectError(await api(app.url, org.key).record(input), 400, code);
      if (code === "VALIDATION_FAILED") expect(Array.isArray(err.details.issues)).toBe(true);
      expect(await countsOf(org.orgId)).toEqual(before);
    });
  }

  test("a body over 16 KiB → 413 PAYLOAD_TOO_LARGE", async () => {
    const big = JSON.stringify({ request_id: "big1", pad: "x".repeat(17 * 1024) });
    await expectError(await api(app.url, org.key).record(big), 413, "PAYLOAD_TOO_LARGE");
  });

  test("a wrong content type → MALFORMED_JSON", async () => {
    const r = await fetch(`${app.url}/api/v1/usage`, {
      method: "POST",
      headers: { authorization: `Bearer ${org.key}`, "content-type": "text/plain" },
      body: JSON.stringify({ request_id: "ct1" }),
    });
    await expectError(r, 400, "MALFORMED_JSON");
    const form = await fetch(`${app.url}/api/v1/usage`, {
      method: "POST",
      headers: { authorization: `Bearer ${org.key}` },
      body: new URLSearchParams({ request_id: "ct2" }),
    });
    await expectError(form, 400, "MALFORMED_JSON");
    expect((await countsOf(org.orgId)).used).toBe(0);
  });

  test("GET on the usage route → 405 in the envelope", async () => {
    const r = await fetch(`${app.url}/api/v1/usage`, { headers: { authorization: `Bearer ${org.key}` } });
    await expectError(r, 405, "METHOD_NOT_ALLOWED");
  });
});

describe("quota check: bad input", () => {
  for (const [name, query] of [
    ["unknown metric", "?metric=widgets"],
    ["empty metric", "?metric="],
    ["unknown parameter", "?metric=api_call&orgId=org_other"],
    ["overlong metric", `?metric=${long}`],
  ]) {
    test(`${name} → VALIDATION_FAILED`, async () => {
      await expectError(await api(app.url, org.key).quota(query), 400, "VALIDATION_FAILED");
    });
  }
});

describe("authentication", () => {
  const routes = [
    (key: string | null) => fetch(`${app.url}/api/v1/quota`, { headers: key === null ? {} : { authorization: key } }),
    (key: string | null) =>
      fetch(`${app.url}/api/v1/usage`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(key === null ? {} : { authorization: key }) },
        body: JSON.stringify({ request_id: rid() }),
      }),
  ];
  const badCredentials: [string, string | null][] = [
    ["no Authorization header", null],
    ["not a Bearer token", "Basic dXNlcjpwYXNz"],
    ["an empty Bearer token", "Bearer "],
    ["a malformed key", "Bearer mk_test_short"],
    ["a well-formed unknown key", `Bearer mk_test_${"A".repeat(32)}`],
    ["a Stripe-looking secret", "Bearer sk_test_abcdefghijklmnopqrstuvwxyz"],
  ];
  for (const [name, credential] of badCredentials) {
    test(`${name} → 401 on the quota and usage routes`, async () => {
      for (const call of routes) await expectError(await call(credential), 401, "UNAUTHENTICATED");
    });
  }

  test("a revoked key fails at once on this process, counting nothing", async () => {
    const victim = await orgWithKey();
    const c = api(app.url, victim.key);
    expect((await c.record({ request_id: rid() })).status).toBe(200);
    await revokeApiKey({ keyId: victim.keyId });
    // This test process revoked it; the app process holds its own cache of at most KEY_CACHE_TTL_MS.
    const deadline = Date.now() + 5000;
    let status = 200;
    let admittedAfterRevoke = 0; // requests the app's still-warm cache let through
    while (Date.now() < deadline) {
      status = (await c.record({ request_id: rid() })).status;
      if (status === 401) break;
      if (status === 200) admittedAfterRevoke++;
      await Bun.sleep(100);
    }
    const tookMs = 5000 - (deadline - Date.now());
    expect(status).toBe(401);
    expect(tookMs).toBeLessThan(5000);
    // Refused requests count nothing: only the one before the revoke and those the cache admitted.
    const counts = await countsOf(victim.orgId);
    expect(Number(counts.used)).toBe(1 + admittedAfterRevoke);
    expect(Number(counts.rows)).toBe(1 + admittedAfterRevoke);
    await expectError(await c.quota(), 401, "UNAUTHENTICATED");
  });

  test("an org's key sees only its own org: quota, usage and request_ids", async () => {
    const a = await orgWithKey({ plan: "starter" });
    const b = await orgWithKey({ plan: "pro" });
    const id = rid();
    await api(app.url, a.key).record({ request_id: id, quantity: 5 });
    const qb = ((await (await api(app.url, b.key).quota()).json()) as any).data;
    expect(qb).toMatchObject({ used: 0, planCode: "pro" });
    // The same id under b's key is b's own request, not a replay of a's.
    const rb = await api(app.url, b.key).record({ request_id: id, quantity: 9 });
    expect(rb.status).toBe(200);
    expect(rb.headers.get("idempotent-replayed")).toBeNull();
    expect((await countsOf(a.orgId)).used).toBe(5);
    expect((await countsOf(b.orgId)).used).toBe(9);
  });
});

describe("one feature's record in either form", () => {
  test("a repeat in the other form replays it, answered in its own form; another quantity is still a conflict", async () => {
    const o = await orgWithKey({ plan: "starter" });
    const client = api(app.url, o.key);
    const single = rid();
    const first = await client.record({ request_id: single, quantity: 3 });
    expect(first.status).toBe(200);
    const asParts = await client.record({ request_id: single, quantities: { api_call: 3 } });
    expect([asParts.status, asParts.headers.get("idempotent-replayed")]).toEqual([200, "true"]);
    expect(((await asParts.json()) as any).data.features.api_call).toMatchObject({ quantity: 3, used: 3 });
    const parts = rid();
    expect((await client.record({ request_id: parts, quantities: { api_call: 2 } })).status).toBe(200);
    const asSingle = await client.record({ request_id: parts, quantity: 2 });
    expect([asSingle.status, asSingle.headers.get("idempotent-replayed")]).toEqual([200, "true"]);
    expect(((await asSingle.json()) as any).data).toMatchObject({ metric: "api_call" });
    await expectError(await client.record({ request_id: single, quantities: { api_call: 4 } }), 409, "IDEMPOTENCY_CONFLICT");
    expect((await countsOf(o.orgId)).used).toBe(5);
  });
});

describe("envelope headers", () => {
  test("x-request-id echoes a well-formed client id; x-corr-id is always set", async () => {
    const r = await fetch(`${app.url}/api/v1/quota`, { headers: { authorization: `Bearer ${org.key}`, "x-request-id": "client-req-42" } });
    expect(r.headers.get("x-request-id")).toBe("client-req-42");
    expect(r.headers.get("x-corr-id")).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await fetch(`${app.url}/api/v1/quota`, { headers: { authorization: `Bearer ${org.key}`, "x-request-id": "<script>" } });
    expect(bad.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("the plan catalog is public", async () => {
    const r = await fetch(`${app.url}/api/v1/plans`);
    expect(r.status).toBe(200);
    const { data } = (await r.json()) as any;
    expect(data.plans.map((p: any) => p.code)).toEqual(["trial", "starter", "growth", "pro"]);
    expect(data.plans[0]).toMatchObject({ code: "trial", trialDays: 14, priceMonthly: 2900, currency: "usd", includedUnits: { api_call: 1000 } });
  });
});
