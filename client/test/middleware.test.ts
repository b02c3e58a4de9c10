// The middleware in front of real servers (a Bun.serve app, a node:http app in the Express/Connect
// style), metering against the real platform: 429 with Retry-After once the quota is used up.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { revokeApiKey } from "../../app/server/auth/keys.server";
import { startApp, type TestApp } from "../../test/app";
import { type Contract, contractFetch } from "../../test/contract";
import { countsOf, orgWithKey } from "../../test/factories";
import { Metered, MeteredApiError } from "../src/index";

let app: TestApp;
let contract: Contract;
beforeAll(async () => {
  app = await startApp({ KEY_CACHE_TTL_MS: "0" });
  contract = contractFetch(app.url);
});
afterAll(async () => {
  await app.stop();
});

/** A small API protected by the middleware, as the README shows it. */
function protectedApi(apiKey: string, options: Parameters<Metered["middleware"]>[0] = {}) {
  const metered = new Metered({ apiKey, baseUrl: app.url, fetch: contract.fetch });
  let served = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: metered.middleware(options)(() => {
      served++;
      return Response.json({ hello: "world" });
    }),
  });
  return { url: `http://127.0.0.1:${server.port}`, served: () => served, stop: () => server.stop(true) };
}

describe("fetch-style middleware on Bun.serve", () => {
  test("serves the included requests, then answers 429 in the envelope with Retry-After, without running the handler", async () => {
    const org = await orgWithKey({ included: 3 });
    const api = protectedApi(org.key);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(`${api.url}/hello`)).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(api.served()).toBe(3);
      const denied = await fetch(`${api.url}/hello`);
      expect(denied.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(Number(denied.headers.get("retry-after"))).toBeGreaterThan(0);
      const body = (await denied.json()) as any;
      expect(body).toMatchObject({ ok: false, error: { code: "QUOTA_EXCEEDED", details: { periodKey: expect.any(String) } } });
      expect(await countsOf(org.orgId)).toEqual({ used: 3, ledger: 3, rows: 3 });
    } finally {
      api.stop();
    }
  });

  test("concurrent callers past the quota: exactly the included number is served", async () => {
    const org = await orgWithKey({ included: 10 });
    const api = protectedApi(org.key);
    try {
      const statuses = await Promise.all(Array.from({ length: 30 }, () => fetch(`${api.url}/hello`).then((r) => r.status)));
      expect(statuses.filter((s) => s === 200).length).toBe(10);
      expect(statuses.filter((s) => s === 429).length).toBe(20);
      expect(api.served()).toBe(10);
    } finally {
      api.stop();
    }
  });

  test("with requestId from Idempotency-Key, a caller's retry of one request is counted once", async () => {
    const org = await orgWithKey({ included: 10 });
    const api = protectedApi(org.key, { requestId: ["idempotency-key", "x-request-id"] });
    try {
      const send = (key: string) => fetch(`${api.url}/orders`, { method: "POST", headers: { "Idempotency-Key": key } });
      expect((await send("order-1")).status).toBe(200);
      expect((await send("order-1")).status).toBe(200);
      expect((await send("order-2")).status).toBe(200);
      expect(api.served()).toBe(3);
      expect(await countsOf(org.orgId)).toEqual({ used: 2, ledger: 2, rows: 2 });
    } finally {
      api.stop();
    }
  });

  test("skipped requests are served without being counted", async () => {
    const org = await orgWithKey({ included: 1 });
    const metered = new Metered({ apiKey: org.key, baseUrl: app.url, fetch: contract.fetch });
    const handler = metered.middleware({ skip: (req) => new URL(req.url).pathname === "/health" })(() => new Response("ok"));
    for (let i = 0; i < 3; i++) expect((await handler(new Request("http://app.local/health"))).status).toBe(200);
    expect((await handler(new Request("http://app.local/work"))).status).toBe(200);
    expect((await handler(new Request("http://app.local/work"))).status).toBe(429);
    expect(await countsOf(org.orgId)).toEqual({ used: 1, ledger: 1, rows: 1 });
  });

  test("quantity per request and an API error thrown to the server's own error handling", async () => {
    const org = await orgWithKey({ included: 10 });
    const metered = new Metered({ apiKey: org.key, baseUrl: app.url, fetch: contract.fetch });
    const handler = metered.middleware({ quantity: (req) => Number(new URL(req.url).searchParams.get("n") ?? 1) })(() => new Response("ok"));
    expect((await handler(new Request("http://app.local/?n=4"))).status).toBe(200);
    expect((await countsOf(org.orgId)).used).toBe(4);
    await revokeApiKey({ keyId: org.keyId });
    const err = await Promise.resolve(handler(new Request("http://app.local/"))).catch((e) => e);
    expect(err).toBeInstanceOf(MeteredApiError);
    expect(err.code).toBe("UNAUTHENTICATED");
  });
});

describe("Express/Connect adapter", () => {
  test("a node:http app chaining the middleware: 429 after the quota, errors go to next(err)", async () => {
    const org = await orgWithKey({ included: 2 });
    const meter = new Metered({ apiKey: org.key, baseUrl: app.url, fetch: contract.fetch }).express();
    let served = 0;
    const errors: unknown[] = [];
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      meter(req, res, (err) => {
        if (err) {
          errors.push(err);
          res.statusCode = 500;
          return res.end();
        }
        served++;
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(url)).status);
      expect(statuses).toEqual([200, 200, 429]);
      expect(served).toBe(2);
      const denied = await fetch(url);
      expect(Number(denied.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await denied.json()) as any).error.code).toBe("QUOTA_EXCEEDED");
      await revokeApiKey({ keyId: org.keyId });
      expect((await fetch(url)).status).toBe(500);
      expect(errors[0]).toBeInstanceOf(MeteredApiError);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

test("every answer of the app in these tests matches the OpenAPI document (status, headers, body)", () => {
  expect(contract.violations).toEqual([]);
  expect(contract.checked()).toBeGreaterThan(40);
});
