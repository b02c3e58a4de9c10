// Input a client controls never becomes unbounded server state or a silently ignored filter:
// unusual HTTP methods add no /metrics series, and an admin query with a bad period is refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../app";

let app: TestApp;
beforeAll(async () => {
  app = await startApp({ ADMIN_EMAILS: "ops@example.com", METRICS: "on" });
});
afterAll(async () => {
  await app.stop();
});

/** One HTTP/1.1 request with any method token (fetch normalises unknown methods away); its status. */
async function rawStatus(method: string, path: string): Promise<number> {
  const { hostname, port } = new URL(app.url);
  let text = "";
  const { promise, resolve } = Promise.withResolvers<number>();
  await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      open: (s) => void s.write(`${method} ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`),
      data: (_s, chunk) => {
        text += new TextDecoder().decode(chunk);
      },
      close: () => resolve(Number(text.split(" ")[1])),
      error: () => resolve(0),
    },
  });
  return promise;
}

const UNUSUAL_METHODS = [
  "PROPFIND",
  "PROPPATCH",
  "MKCOL",
  "COPY",
  "MOVE",
  "LOCK",
  "UNLOCK",
  "SEARCH",
  "PURGE",
  "REPORT",
  "MKACTIVITY",
  "CHECKOUT",
  "MERGE",
  "NOTIFY",
  "SUBSCRIBE",
  "UNSUBSCRIBE",
  "TRACE",
  "LINK",
  "UNLINK",
  "ACL",
];

const seriesCount = async () =>
  (await (await fetch(`${app.url}/metrics`)).text()).split("\n").filter((l) => l.startsWith("msp_http_request_duration_seconds_count")).length;

describe("label cardinality", () => {
  test("a sweep of made-up methods adds at most one series per route and status", async () => {
    // Warm up: the routes and statuses the sweep hits, with ordinary methods.
    for (const path of ["/api/v1/plans", "/dashboard", "/api/nope"]) await fetch(`${app.url}${path}`).then((r) => r.arrayBuffer());
    const before = await seriesCount();
    // Methods Bun's parser accepts (WebDAV and friends): each would have been a series of its own.
    for (const method of UNUSUAL_METHODS) {
      for (const path of ["/api/v1/plans", "/dashboard", "/api/nope"]) expect(await rawStatus(method, path)).toBeGreaterThanOrEqual(400);
    }
    const after = await seriesCount();
    // Each (route, status) pair gains one "other" series at most, whatever the number of methods.
    expect(after - before).toBeLessThanOrEqual(6);
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const labelled = UNUSUAL_METHODS.filter((m) => text.includes(`method="${m}"`));
    expect(labelled).toEqual([]);
    expect(text.includes('method="other"')).toBe(true);
  }, 30_000);
});

describe("GET /api/admin/drift", () => {
  let cookie: string;
  beforeAll(async () => {
    const r = await fetch(`${app.url}/dev/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: app.url },
      body: new URLSearchParams({ email: "ops@example.com", orgId: `org_ad${crypto.randomUUID().slice(0, 8)}` }),
    });
    expect(r.status).toBe(302);
    cookie = r.headers.get("set-cookie")!.split(";")[0];
  });
  const drift = (query: string) => fetch(`${app.url}/api/admin/drift${query}`, { headers: { cookie } });

  test("a period key that is not YYYY-MM, or a metric that is not a feature code, is VALIDATION_FAILED, not a report of every period", async () => {
    for (const bad of [
      "?periodKey=2026-13",
      "?periodKey=abc",
      "?periodKey=",
      "?other=1",
      "?metric=",
      "?metric=Tokens",
      `?metric=${"t".repeat(41)}`,
      "?metric=a'b",
    ]) {
      const r = await drift(bad);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("VALIDATION_FAILED");
    }
  });

  test("a valid period key, or none, passes to the report (which needs Stripe: none runs here)", async () => {
    for (const good of ["?periodKey=2026-11", "", "?metric=tokens", "?periodKey=2026-11&metric=api_call"]) {
      const r = await drift(good);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("UPSTREAM_UNAVAILABLE");
    }
  });
});
