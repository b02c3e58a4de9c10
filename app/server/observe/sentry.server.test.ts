// Sentry on a real app process, reporting to a local envelope receiver: unexpected server errors
// (hot path, API, page loaders) arrive with release, environment and a transaction; expected 4xx
// never do; and no cookie, Authorization header, query string, email or API key leaves, even when
// the failing requests carry them. The app runs on a database of its own, which the test breaks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { spawn } from "bun";
import postgres from "postgres";
import { startApp, type TestApp } from "../../../test/app";
import { createTestDatabase } from "../../../test/db";
import { type SentryReceiver, startSentryReceiver } from "../../../test/sentry-receiver";

const EMAIL = "sentry-owner@example.com";
let receiver: SentryReceiver;
let app: TestApp;
let own: Awaited<ReturnType<typeof createTestDatabase>>;
let cookie: string;
let key: string;

async function until<T>(fn: () => T | null | undefined | false, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(50);
  }
}

beforeAll(async () => {
  receiver = startSentryReceiver();
  own = await createTestDatabase("sentry");
  app = await startApp({
    DATABASE_URL: own.url,
    SENTRY_DSN: receiver.dsn,
    SENTRY_TRACES_SAMPLE_RATE: "1",
    SENTRY_ENVIRONMENT: "staging-test",
    SENTRY_RELEASE: "metered@9.9.9",
  });
  const signIn = await fetch(`${app.url}/dev/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { origin: app.url },
    body: new URLSearchParams({ email: EMAIL, orgId: "org_sentrytest" }),
  });
  cookie = signIn.headers.get("set-cookie")!.split(";")[0];
  const created = await fetch(`${app.url}/api/v1/keys`, {
    method: "POST",
    headers: { cookie, origin: app.url, "content-type": "application/json" },
    body: JSON.stringify({ name: "sentry" }),
  });
  key = ((await created.json()) as { data: { key: string } }).data.key;
}, 60_000);

afterAll(async () => {
  await app?.stop();
  receiver?.stop();
  await own?.drop();
});

describe("Sentry on the app", () => {
  test("expected 4xx answers send nothing", async () => {
    const bad = await fetch(`${app.url}/api/v1/quota`, { headers: { authorization: "Bearer mk_test_notakey", "x-request-id": "expected-401" } });
    expect(bad.status).toBe(401);
    const malformed = await fetch(`${app.url}/api/v1/usage`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-request-id": "expected-400" },
      body: "{not json",
    });
    expect(malformed.status).toBe(400);
    expect((await fetch(`${app.url}/no/such/page`, { headers: { cookie } })).status).toBe(404);
    await Bun.sleep(1500);
    expect(receiver.events()).toEqual([]);
  });

  test("unexpected errors of the hot path, the API and a page loader arrive once each, tagged, with no PII", async () => {
    const db = postgres(own.url, { max: 1, onnotice: () => {} });
    await db`drop function quota_of`;
    await db`drop function record_usage`;
    await db`drop function deny_or_replay`;
    await db`alter table subscriptions rename to subscriptions_gone`;
    await db.end();

    const pii = { cookie: `${cookie}; tracking=cookie-secret-value`, authorization: `Bearer ${key}` };
    const quota = await fetch(`${app.url}/api/v1/quota?metric=api_call`, { headers: { ...pii, "x-request-id": "hot-quota" } });
    expect(quota.status).toBe(500);
    const usage = await fetch(`${app.url}/api/v1/usage?email=leaky@example.com`, {
      method: "POST",
      headers: { ...pii, "content-type": "application/json", "x-request-id": "hot-usage" },
      body: JSON.stringify({ request_id: key, quantity: 1 }), // the API key in the body
    });
    expect(usage.status).toBe(500);
    const page = await fetch(`${app.url}/dashboard?email=leaky@example.com`, { headers: pii });
    expect(page.status).toBe(500);

    const events = await until(() => {
      const e = receiver.events();
      return e.length >= 3 && e;
    });
    await Bun.sleep(1000); // anything sent twice would arrive by now
    const byRequest = (id: string) => receiver.events().filter((e) => e.tags?.request_id === id);
    expect(byRequest("hot-quota")).toHaveLength(1);
    expect(byRequest("hot-usage")).toHaveLength(1);
    expect(receiver.events().filter((e) => e.tags?.path === "/dashboard")).toHaveLength(1);
    // A page's error carries the ids its answer has: the log line and the event can be found by them.
    const pageCorr = page.headers.get("x-corr-id");
    expect(receiver.events().find((e) => e.tags?.path === "/dashboard")?.tags?.corr_id).toBe(pageCorr ?? "missing");
    expect(app.logs.some((l) => l.includes('"unexpected server error"') && l.includes(`"corr_id":"${pageCorr}"`))).toBe(true);
    for (const e of events) {
      expect(e.release).toBe("metered@9.9.9");
      expect(e.environment).toBe("staging-test");
    }
    // Bun.serve requests become transactions named by route pattern, sharing the error's trace.
    const transactions = receiver.items.filter((i) => i.type === "transaction").map((i) => i.payload);
    const quotaTx = transactions.find((t) => t.transaction === "GET /api/v1/quota");
    expect(quotaTx).toBeDefined();
    const traceOf = (e: Record<string, unknown>) => (e.contexts as { trace?: { trace_id?: string } } | undefined)?.trace?.trace_id;
    expect(traceOf(quotaTx!)).toMatch(/^[0-9a-f]{32}$/);
    expect(traceOf(byRequest("hot-quota")[0])).toBe(traceOf(quotaTx!));

    const everything = receiver.raw.join("\n");
    for (const secret of [key, key.slice(8), "cookie-secret-value", cookie.split("=")[1], "leaky@example.com", "email=", "metric=api_call", EMAIL, "Bearer"]) {
      expect(everything).not.toContain(secret);
    }
    expect(everything.toLowerCase()).not.toContain('"cookie');
    expect(everything.toLowerCase()).not.toContain('"authorization"');
  });
});

describe("bun run ops sentry:test", () => {
  test("sends a test event and prints its id", async () => {
    const proc = spawn(["bun", join(import.meta.dir, "..", "..", "..", "cli", "ops.ts"), "sentry:test", "--json"], {
      env: { ...process.env, SENTRY_DSN: receiver.dsn, LOG_LEVEL: "silent" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    const { eventId } = JSON.parse(out.trim()) as { eventId: string };
    expect(eventId).toMatch(/^[0-9a-f]{32}$/);
    await until(() => receiver.events().some((e) => e.event_id === eventId));
  });
});
