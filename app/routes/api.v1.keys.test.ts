// The key routes over HTTP (one app process, no Redis): rate limits set at creation, edited and
// defaulted per org; over a limit the quota check and the record answer 429 RATE_LIMITED with
// Retry-After and count nothing; rename, roll and expiry; bad input changes nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../test/app";
import { api, countsOf, rid, setSubscriptionMirror } from "../../test/factories";
import { sql } from "../server/platform/db.server";

let app: TestApp;
let cookie: string;
let orgId: string;
beforeAll(async () => {
  app = await startApp({ APP_PROCESSES: "1", KEY_CACHE_TTL_MS: "500" });
  orgId = `org_k${crypto.randomUUID().slice(0, 8)}`;
  const form = new URLSearchParams({ email: "owner@example.com", orgId, orgName: "Keys Org" });
  const r = await fetch(`${app.url}/dev/sign-in`, { method: "POST", body: form, redirect: "manual", headers: { origin: app.url } });
  expect(r.status).toBe(302);
  cookie = r.headers.get("set-cookie")!.split(";")[0];
  await setSubscriptionMirror({ orgId, planCode: "starter" });
});
afterAll(async () => {
  await app.stop();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${app.url}${path}`, {
    method,
    headers: { cookie, origin: app.url, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}
const createKey = (body: unknown) => call("POST", "/api/v1/keys", body);

describe("rate limits", () => {
  test("a key limited to 3 per hour: 3 requests pass, the next quota check and record are 429 RATE_LIMITED with Retry-After, and nothing more is counted", async () => {
    const created = await createKey({ name: "limited", rateLimits: [{ limit: 3, windowSeconds: 3600 }] });
    expect(created.status).toBe(200);
    expect(created.body.data.rateLimits).toEqual([{ limit: 3, windowSeconds: 3600 }]);
    const c = api(app.url, created.body.data.key);
    const before = await countsOf(orgId);
    expect((await c.quota()).status).toBe(200);
    expect((await c.record({ request_id: rid("a") })).status).toBe(200);
    expect((await c.record({ request_id: rid("b") })).status).toBe(200);
    for (const refused of [await c.record({ request_id: rid("c") }), await c.quota()]) {
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      const body = (await refused.json()) as any;
      expect(body.ok).toBe(false);
      expect(body.error.code).toBe("RATE_LIMITED");
      expect(body.error.details).toEqual({ limit: 3, windowSeconds: 3600, retryAfterSeconds: retryAfter });
    }
    const after = await countsOf(orgId);
    expect(Number(after.used) - Number(before.used)).toBe(2);
    expect(Number(after.rows) - Number(before.rows)).toBe(2);
  });

  test("PATCH lifts the limit; the org default holds keys without their own; [] opts out of it", async () => {
    const created = await createKey({ name: "edited", rateLimits: [{ limit: 1, windowSeconds: 3600 }] });
    const c = api(app.url, created.body.data.key);
    expect((await c.quota()).status).toBe(200);
    expect((await c.quota()).status).toBe(429);
    const patched = await call("PATCH", `/api/v1/keys/${created.body.data.id}`, { rateLimits: null });
    expect(patched.status).toBe(200);
    expect(patched.body.data.rateLimits).toBeNull();
    expect((await c.quota()).status).toBe(200);

    expect((await call("PUT", "/api/v1/key-rate-limits", { rateLimits: [{ limit: 2, windowSeconds: 7200 }] })).status).toBe(200);
    expect((await call("GET", "/api/v1/key-rate-limits")).body.data).toEqual({ rateLimits: [{ limit: 2, windowSeconds: 7200 }] });
    const optedOut = await createKey({ name: "opted out", rateLimits: [] });
    const free = api(app.url, optedOut.body.data.key);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await c.quota()).status, (await free.quota()).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 200]);
    expect((await call("PUT", "/api/v1/key-rate-limits", { rateLimits: null })).body.data).toEqual({ rateLimits: null });
    expect((await c.quota()).status).toBe(200);
  });

  test("bad limits and bodies are VALIDATION_FAILED and create or change nothing", async () => {
    const [{ n: keysBefore }] = await sql<{ n: number }[]>`select count(*)::int as n from api_keys where org_id = ${orgId}`;
    const bad: unknown[] = [
      { name: "x", rateLimits: [{ limit: 0, windowSeconds: 1 }] },
      { name: "x", rateLimits: [{ limit: 1.5, windowSeconds: 1 }] },
      { name: "x", rateLimits: [{ limit: 10, windowSeconds: 86_401 }] },
      { name: "x", rateLimits: [{ limit: 1_000_001, windowSeconds: 1 }] },
      {
        name: "x",
        rateLimits: [
          { limit: 10, windowSeconds: 1 },
          { limit: 20, windowSeconds: 1 },
        ],
      },
      { name: "x", rateLimits: Array.from({ length: 6 }, (_, i) => ({ limit: 10, windowSeconds: i + 1 })) },
      { name: "x", rateLimits: [{ limit: 10, windowSeconds: 1, burst: 3 }] },
      { name: "x", rateLimits: "100/s" },
      { name: "x", expiresAt: "2020-01-01T00:00:00Z" },
      { name: "x", expiresAt: "tomorrow" },
      // Past the year 9999 once in UTC: a Date Postgres cannot read (a 500 before).
      { name: "x", expiresAt: "9999-12-31T23:59:59-23:59" },
      // A name that reads as another: a right-to-left override, an isolate, a control character.
      { name: "prod\u202Edab" },
      { name: "\u2067ops" },
      { name: "a\u0007b" },
    ];
    for (const body of bad) {
      const r = await createKey(body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION_FAILED");
    }
    const [{ n: keysAfter }] = await sql<{ n: number }[]>`select count(*)::int as n from api_keys where org_id = ${orgId}`;
    expect(keysAfter).toBe(keysBefore);
    const created = await createKey({ name: "steady" });
    for (const body of [
      {},
      { name: "" },
      { name: "kept\u202E" },
      { rateLimits: [{ limit: -1, windowSeconds: 1 }] },
      { gracePeriodSeconds: 5 },
      { expiresAt: "9999-12-31T23:59:59-23:59" },
    ]) {
      const r = await call("PATCH", `/api/v1/keys/${created.body.data.id}`, body);
      expect(r.status).toBe(400);
    }
    for (const body of [{ gracePeriodSeconds: -1 }, { gracePeriodSeconds: 604_801 }, { gracePeriodSeconds: "1h" }]) {
      expect((await call("POST", `/api/v1/keys/${created.body.data.id}/roll`, body)).status).toBe(400);
    }
    expect((await call("PUT", "/api/v1/key-rate-limits", { rateLimits: [{ limit: 0, windowSeconds: 1 }] })).status).toBe(400);
    const [row] = await sql`select name, rate_limits, hash from api_keys where id = ${created.body.data.id}`;
    expect(row.name).toBe("steady");
    expect(row.rate_limits).toBeNull();
  });
});

describe("lifecycle over HTTP", () => {
  test("rename, roll (new secret once, old one in grace), expiry; another org's key is NOT_FOUND", async () => {
    const created = await createKey({ name: "old name", expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    expect(created.body.data.expiresAt).toBeTruthy();
    const id = created.body.data.id;
    expect((await call("PATCH", `/api/v1/keys/${id}`, { name: "new name" })).body.data.name).toBe("new name");
    const rolled = await call("POST", `/api/v1/keys/${id}/roll`, {});
    expect(rolled.status).toBe(200);
    expect(rolled.body.data.key).toMatch(/^mk_(live|test)_/);
    expect(rolled.body.data.key).not.toBe(created.body.data.key);
    const grace = Date.parse(rolled.body.data.previousSecretValidUntil) - Date.now();
    expect(grace).toBeGreaterThan(86_300_000);
    expect(grace).toBeLessThanOrEqual(86_400_000);
    expect((await api(app.url, created.body.data.key).quota()).status).toBe(200);
    expect((await api(app.url, rolled.body.data.key).quota()).status).toBe(200);
    const listed = (await call("GET", "/api/v1/keys")).body.data.keys.find((k: { id: string }) => k.id === id);
    expect(listed).toMatchObject({ name: "new name", prefix: rolled.body.data.prefix, previousSecretValidUntil: rolled.body.data.previousSecretValidUntil });
    expect(JSON.stringify(listed)).not.toContain(rolled.body.data.key);
    expect((await call("PATCH", "/api/v1/keys/key_someoneelse", { name: "x" })).status).toBe(404);
    expect((await call("POST", "/api/v1/keys/key_someoneelse/roll", {})).status).toBe(404);
    const actions = (await sql<{ action: string }[]>`select action from audit_log where org_id = ${orgId} and target = ${id} order by id`).map((a) => a.action);
    expect(actions).toEqual(["api_key.created", "api_key.renamed", "api_key.rolled"]);
  });
});

describe("the keys page's forms", () => {
  /** Posts the keys page's form as the browser does without JavaScript: `{ status, body }`. */
  async function post(fields: [string, string][]) {
    const res = await fetch(`${app.url}/keys?_data=routes/_portal.keys`, {
      method: "POST",
      headers: { cookie, origin: app.url },
      body: new URLSearchParams(fields),
    });
    return { status: res.status, body: (await res.json()) as any };
  }
  const rows = (...limits: [string, string][]): [string, string][] =>
    limits.flatMap(([limit, windowSeconds]) => [["limit", limit] as [string, string], ["windowSeconds", windowSeconds] as [string, string]]);
  const limitsOf = async (id: string) => (await sql`select rate_limits from api_keys where id = ${id}`)[0].rate_limits;

  test("a key gets several limits, in order; an empty row is ignored; the default and none stay distinct (null and [])", async () => {
    const created = await post([["intent", "create"], ["name", "two limits"], ["limitMode", "custom"], ...rows(["10", "1"], ["", "60"], ["500", "3600"])]);
    expect(created.status).toBe(200);
    const id = created.body.created.id;
    expect(await limitsOf(id)).toEqual([
      { limit: 10, windowSeconds: 1 },
      { limit: 500, windowSeconds: 3600 },
    ]);
    const update = (mode: string, ...limits: [string, string][]) =>
      post([["intent", "update"], ["keyId", id], ["name", "two limits"], ["limitMode", mode], ...rows(...limits)]);
    expect((await update("custom", ["10", "1"], ["500", "3600"], ["9000", "86400"])).status).toBe(200);
    expect(await limitsOf(id)).toHaveLength(3);
    // The rows posted with another mode are not limits.
    expect((await update("none", ["10", "1"])).status).toBe(200);
    expect(await limitsOf(id)).toEqual([]);
    expect((await update("default", ["10", "1"])).status).toBe(200);
    expect(await limitsOf(id)).toBeNull();

    expect((await post([["intent", "default-limits"], ["limitMode", "custom"], ...rows(["100", "1"], ["2000", "60"], ["", "1"])])).status).toBe(200);
    expect((await call("GET", "/api/v1/key-rate-limits")).body.data).toEqual({
      rateLimits: [
        { limit: 100, windowSeconds: 1 },
        { limit: 2000, windowSeconds: 60 },
      ],
    });
    expect(
      (
        await post([
          ["intent", "default-limits"],
          ["limitMode", "none"],
        ])
      ).status,
    ).toBe(200);
    expect((await call("GET", "/api/v1/key-rate-limits")).body.data).toEqual({ rateLimits: null });
  });

  test("the page refuses the names the API refuses: empty, too long, a direction override; nothing is created", async () => {
    const [{ n: before }] = await sql<{ n: number }[]>`select count(*)::int as n from api_keys where org_id = ${orgId}`;
    for (const name of ["", " ", "x".repeat(61), "prod\u202Edab", "a\u0007b"]) {
      const r = await post([
        ["intent", "create"],
        ["name", name],
        ["limitMode", "default"],
      ]);
      expect([JSON.stringify(name), r.status, r.body.code]).toEqual([JSON.stringify(name), 400, "VALIDATION_FAILED"]);
      expect(r.body.error).toBe("Give the key a name of 1–60 characters, without control characters.");
    }
    const [{ n: after }] = await sql<{ n: number }[]>`select count(*)::int as n from api_keys where org_id = ${orgId}`;
    expect(after).toBe(before);
    expect(
      (
        await post([
          ["intent", "create"],
          ["name", "  padded  "],
          ["limitMode", "default"],
        ])
      ).status,
    ).toBe(200);
  });

  test("bad rows are refused with the API's own words, naming the row, and change nothing", async () => {
    const created = await createKey({ name: "kept", rateLimits: [{ limit: 5, windowSeconds: 60 }] });
    const id = created.body.data.id;
    const six = Array.from({ length: 6 }, (_, i) => ({ limit: 10, windowSeconds: i + 1 }));
    // Each case: the limits, the page's refusal, and the API's refusal of the same limits as JSON.
    const cases: [{ limit: number; windowSeconds: number }[], string, string][] = [
      [
        [
          { limit: 10, windowSeconds: 1 },
          { limit: 0, windowSeconds: 60 },
        ],
        "Limit 2: requests allowed must be a whole number from 1 to 1,000,000.",
        "rateLimits.1.limit: must be a whole number from 1 to 1,000,000",
      ],
      [
        [{ limit: 1.5, windowSeconds: 1 }],
        "Limit 1: requests allowed must be a whole number from 1 to 1,000,000.",
        "rateLimits.0.limit: must be a whole number from 1 to 1,000,000",
      ],
      [
        [{ limit: 10, windowSeconds: 86_401 }],
        "Limit 1: window must be a whole number of seconds from 1 to 86,400.",
        "rateLimits.0.windowSeconds: must be a whole number of seconds from 1 to 86,400",
      ],
      [
        [
          { limit: 10, windowSeconds: 60 },
          { limit: 20, windowSeconds: 60 },
        ],
        "Rate limits: one limit per window: two limits have the same windowSeconds.",
        "rateLimits: one limit per window: two limits have the same windowSeconds",
      ],
      [six, "Rate limits: at most 5 limits.", "rateLimits: at most 5 limits"],
    ];
    for (const [limits, page, api] of cases) {
      const fields = rows(...limits.map((l): [string, string] => [String(l.limit), String(l.windowSeconds)]));
      const r = await post([["intent", "update"], ["keyId", id], ["name", "kept"], ["limitMode", "custom"], ...fields]);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ ok: false, code: "VALIDATION_FAILED", error: page });
      const refused = await call("PATCH", `/api/v1/keys/${id}`, { rateLimits: limits });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toBe(`Invalid input: ${api}`);
    }
    // Not whole numbers as a person types them: refused, never read as 16 or 10.
    for (const [count, window] of [
      ["0x10", "1"],
      ["1e1", "1"],
      ["10", "0x3c"],
    ]) {
      const r = await post([["intent", "update"], ["keyId", id], ["name", "kept"], ["limitMode", "custom"], ...rows([count, window])]);
      expect([r.status, r.body.code]).toEqual([400, "VALIDATION_FAILED"]);
    }
    const commas = await post([["intent", "update"], ["keyId", id], ["name", "kept"], ["limitMode", "custom"], ...rows(["1,000", "60"])]);
    expect(commas.status).toBe(200);
    expect(await limitsOf(id)).toEqual([{ limit: 1000, windowSeconds: 60 }]);
    await post([["intent", "update"], ["keyId", id], ["name", "kept"], ["limitMode", "custom"], ...rows(["5", "60"])]);
    const none = await post([["intent", "update"], ["keyId", id], ["name", "kept"], ["limitMode", "custom"], ...rows(["", "1"])]);
    expect(none.body.error).toBe('Fill in at least one limit, or choose "No limit".');
    expect(await limitsOf(id)).toEqual([{ limit: 5, windowSeconds: 60 }]);
  });
});
