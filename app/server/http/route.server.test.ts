// The /api boundary in process: what a declared route answers for an undeclared method, what
// its handler is given (the parsed query and body, or the input's error envelope), each kind of
// caller refused and let through, the breaker's 503, and the server's hot-route table (a missing
// hot route stops the server at start).
import { afterAll, describe, expect, spyOn, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

// Read by the config when it loads: a platform admin for the `admin` cases.
process.env.ADMIN_EMAILS = "ops@example.com";
const { apiRoute } = await import("./route.server");
const { HOT_PARAM_ROUTES, HOT_ROUTES, hotParamOf, hotParamPatternOf, hotRoutesOf } = await import("./route.server");
const { databaseBreaker } = await import("../platform/db.server");
const { ok } = await import("./envelope.server");
const { devSignIn } = await import("../auth/session.server");
const { createApiKey } = await import("../auth/keys.server");
const { isSameOrigin } = await import("../auth/same-origin.server");
const { config } = await import("../platform/config.server");
const { jsonBody, answer } = await import("../api/contract.server");

const BASE = "http://app.test";
const call = (serve: (args: { request: Request; params: Record<string, string> }) => Promise<Response>, method: string, init: RequestInit = {}, params = {}) =>
  serve({ request: new Request(`${BASE}/api/thing`, { method, ...init }), params });
const envelope = async (r: Response) => (await r.json()) as { ok: boolean; data?: any; error?: { code: string; message: string } };

/** A body stream that breaks after its first bytes, as Bun's does when the client goes away mid-body. */
const cutOff = () =>
  new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"name":'));
      controller.error(new DOMException("The connection was closed.", "AbortError"));
    },
  });

async function signedIn(email: string) {
  const form = new FormData();
  form.set("email", email);
  form.set("orgId", `org_r${crypto.randomUUID().slice(0, 8)}`);
  const { cookie, orgId } = await devSignIn(form);
  return { cookie: cookie.split(";")[0], orgId };
}

describe("methods", () => {
  const route = apiRoute({
    GET: { auth: "none", handle: async (_args, ctx) => ok(ctx, "got") },
    POST: { auth: "none", handle: async (_args, ctx) => ok(ctx, "posted") },
    DELETE: { auth: "none", handle: async (_args, ctx) => ok(ctx, "deleted") },
  });
  const postOnly = apiRoute({ POST: { auth: "none", handle: async (_args, ctx) => ok(ctx, "posted") } });

  test("each declared method reaches its handler; HEAD is served wherever GET is", async () => {
    expect((await envelope(await call(route.loader, "GET"))).data).toBe("got");
    expect((await call(route.loader, "HEAD")).status).toBe(200);
    expect((await envelope(await call(route.action, "POST"))).data).toBe("posted");
    expect((await envelope(await call(route.action, "DELETE"))).data).toBe("deleted");
    expect(route.methods).toEqual(["GET", "POST", "DELETE"]);
  });

  test("an undeclared method is 405 METHOD_NOT_ALLOWED in the envelope, Allow listing the declared ones", async () => {
    for (const method of ["PUT", "PATCH", "OPTIONS", "PROPFIND", "constructor"]) {
      const r = await call(route.action, method);
      expect([r.status, r.headers.get("allow")]).toEqual([405, "GET, HEAD, POST, DELETE"]);
      expect((await envelope(r)).error).toEqual({ code: "METHOD_NOT_ALLOWED", message: "Use GET, POST, DELETE on this route.", details: {} } as never);
      expect(r.headers.get("x-request-id")).toBeTruthy();
    }
    for (const method of ["GET", "HEAD"]) {
      const r = await call(postOnly.loader, method);
      expect([r.status, r.headers.get("allow")]).toEqual([405, "POST"]);
    }
    // Remix hands OPTIONS to the loader: it is not a GET.
    const options = await call(route.loader, "OPTIONS");
    expect([options.status, options.headers.get("allow")]).toEqual([405, "GET, HEAD, POST, DELETE"]);
  });

  test("the catch-all serves every method", async () => {
    const any = apiRoute({ "*": { auth: "none", handle: async ({ request }, ctx) => ok(ctx, request.method) } });
    for (const method of ["GET", "PUT", "OPTIONS"]) expect((await envelope(await call(method === "GET" ? any.loader : any.action, method))).data).toBe(method);
  });

  test("a declaration without a method is refused when it is made", () => {
    expect(() => apiRoute({})).toThrow("declare at least one method");
  });
});

test("the handler gets the route's params and the request's ids; an error becomes the envelope", async () => {
  const route = apiRoute({
    DELETE: { auth: "none", handle: async ({ params }, ctx) => ok(ctx, { id: params.id, requestId: ctx.requestId }) },
    PUT: {
      auth: "none",
      handle: async () => {
        throw new Error("boom");
      },
    },
  });
  const r = await call(route.action, "DELETE", { headers: { "x-request-id": "req-1" } }, { id: "wh_123" });
  expect((await envelope(r)).data).toEqual({ id: "wh_123", requestId: "req-1" });
  const failed = await call(route.action, "PUT");
  expect([failed.status, (await envelope(failed)).error?.code]).toEqual([500, "INTERNAL"]);
});

describe("the declared input", () => {
  let runs = 0;
  const body = z.object({ name: z.string().min(1), count: z.number().int().default(1) }).strict();
  const route = apiRoute({
    GET: {
      auth: "none",
      query: z.object({ metric: z.enum(["api_call", "tokens"]).default("api_call") }).strict(),
      handle: async ({ query }, ctx) => {
        runs++;
        return ok(ctx, query);
      },
    },
    POST: {
      auth: "none",
      body: jsonBody(body),
      handle: async ({ body }, ctx) => {
        runs++;
        return ok(ctx, body);
      },
    },
  });
  const keyed = apiRoute({ POST: { auth: "key", body: jsonBody(body), handle: async ({ body }, ctx) => ok(ctx, body) } });
  const at = (serve: typeof route.loader, path: string, init: RequestInit = {}) => serve({ request: new Request(`${BASE}${path}`, init), params: {} });
  const post = (text: string, headers: Record<string, string> = { "content-type": "application/json" }) => call(route.action, "POST", { body: text, headers });

  test("the handler gets the body parsed by its schema, defaults applied", async () => {
    expect((await envelope(await post('{"name":"a"}'))).data).toEqual({ name: "a", count: 1 });
    expect((await envelope(await post('{"name":"a","count":3}', { "content-type": "application/json; charset=utf-8" }))).data).toEqual({ name: "a", count: 3 });
  });

  test("a body that is not JSON, not declared as JSON, fails its schema or is too large is refused before the handler", async () => {
    const before = runs;
    const cases: [Response, number, string][] = [
      [await post('{"name":'), 400, "MALFORMED_JSON"],
      [await post(""), 400, "MALFORMED_JSON"],
      [await post('{"name":"a"}', { "content-type": "text/plain" }), 400, "MALFORMED_JSON"],
      [await post('{"name":"a"}', {}), 400, "MALFORMED_JSON"],
      [await post('{"name":""}'), 400, "VALIDATION_FAILED"],
      [await post('{"name":"a","orgId":"org_x"}'), 400, "VALIDATION_FAILED"],
      [await post("null"), 400, "VALIDATION_FAILED"],
      [await post(JSON.stringify({ name: "\u0000" })), 400, "VALIDATION_FAILED"],
      [await post(JSON.stringify({ name: "x".repeat(17 * 1024) })), 413, "PAYLOAD_TOO_LARGE"],
      // A body cut off (the client closed the connection mid-body): the client's doing, not a 500.
      [await call(route.action, "POST", { body: cutOff(), headers: { "content-type": "application/json" } }), 400, "MALFORMED_JSON"],
    ];
    expect(cases.map(([r]) => r.status)).toEqual(cases.map(([, status]) => status));
    expect(await Promise.all(cases.map(async ([r]) => (await envelope(r)).error?.code))).toEqual(cases.map(([, , code]) => code));
    // A NUL character is named where it is, as a schema's refusal is.
    const nul = (await (await post(JSON.stringify({ name: "a\u0000b" }))).json()) as { error: { details: { issues: unknown[] } } };
    expect(nul.error.details.issues).toEqual([{ path: "name", message: "must not contain NUL characters (U+0000)" }]);
    const invalid = (await (await post('{"name":""}')).json()) as { error: { details: { issues: unknown[] } } };
    expect(invalid.error.details.issues).toEqual([{ path: "name", message: "Too small: expected string to have >=1 characters" }]);
    expect(runs).toBe(before);
  });

  test("the handler gets the query parsed by its schema; a wrong one is VALIDATION_FAILED", async () => {
    expect((await envelope(await at(route.loader, "/api/thing"))).data).toEqual({ metric: "api_call" });
    expect((await envelope(await at(route.loader, "/api/thing?metric=tokens"))).data).toEqual({ metric: "tokens" });
    expect((await envelope(await at(route.loader, "/api/thing?metric=api_call&metric=tokens"))).data).toEqual({ metric: "tokens" });
    for (const path of ["/api/thing?metric=nope", "/api/thing?other=1", "/api/thing?metric=%ff"]) {
      const r = await at(route.loader, path);
      expect([r.status, (await envelope(r)).error?.code]).toEqual([400, "VALIDATION_FAILED"]);
    }
  });

  test("the caller is authenticated before the input is read: no key and a bad body is 401", async () => {
    const r = await call(keyed.action, "POST", { body: '{"name":', headers: { "content-type": "application/json" } });
    expect([r.status, (await envelope(r)).error?.code]).toEqual([401, "UNAUTHENTICATED"]);
  });

  test("a documented method must name its answer, and its body with an example", () => {
    const doc = { operationId: "thing", tag: "Usage", summary: "A thing", description: "A thing.", errors: [] } as const;
    const handle = async () => new Response(null);
    expect(() => apiRoute({ GET: { auth: "none", doc, handle } })).toThrow("GET thing is documented without data");
    expect(() => apiRoute({ POST: { auth: "none", body: jsonBody(body), data: null, doc, handle } })).toThrow("a body name and example");
    const documented = apiRoute({ POST: { auth: "none", body: jsonBody(body, "Thing", { name: "a" }), data: answer(body, "Thing"), doc, handle } });
    expect(documented.specs.POST?.doc?.operationId).toBe("thing");
  });
});

describe("callers", () => {
  const seen = (kind: "key" | "session" | "admin") =>
    apiRoute({
      GET: { auth: kind, handle: async (_args, ctx, caller) => ok(ctx, { orgId: caller.orgId, ctxOrgId: ctx.orgId }) },
      POST: { auth: kind, handle: async (_args, ctx, caller) => ok(ctx, { orgId: caller.orgId }) },
    });
  const orgAdmin = apiRoute({ GET: { auth: "session", role: "admin", handle: async (_args, ctx) => ok(ctx, "yes") } });

  test("none: anyone, and no org", async () => {
    const route = apiRoute({ GET: { auth: "none", handle: async (_args, ctx, caller) => ok(ctx, { caller, orgId: ctx.orgId ?? null }) } });
    expect((await envelope(await call(route.loader, "GET"))).data).toEqual({ caller: null, orgId: null });
  });

  test("key: refused without a key or with an unknown one; with its key, the key's org", async () => {
    const route = seen("key");
    for (const headers of <Record<string, string>[]>[{}, { authorization: "Bearer mk_unknownunknownunknownunknown" }, { authorization: "Basic x" }]) {
      const r = await call(route.loader, "GET", { headers });
      expect([r.status, (await envelope(r)).error?.code]).toEqual([401, "UNAUTHENTICATED"]);
    }
    const { orgId } = await signedIn("keys@example.com");
    const { key } = await createApiKey({ orgId, name: "route test" });
    const r = await call(route.loader, "GET", { headers: { authorization: `Bearer ${key}` } });
    expect([r.status, (await envelope(r)).data]).toEqual([200, { orgId, ctxOrgId: orgId }]);
    // The scheme is case-insensitive.
    for (const scheme of ["bearer", "BEARER"]) {
      const lower = await call(route.loader, "GET", { headers: { authorization: `${scheme} ${key}` } });
      expect([lower.status, (await envelope(lower)).data]).toEqual([200, { orgId, ctxOrgId: orgId }]);
    }
  });

  test("session: refused signed out; signed in, the session's org; a mutation must name this site", async () => {
    const route = seen("session");
    const out = await call(route.loader, "GET");
    expect([out.status, (await envelope(out)).error?.code]).toEqual([401, "UNAUTHENTICATED"]);
    const { cookie, orgId } = await signedIn("member@example.com");
    const r = await call(route.loader, "GET", { headers: { cookie } });
    expect([r.status, (await envelope(r)).data]).toEqual([200, { orgId, ctxOrgId: orgId }]);
    const posted = await call(route.action, "POST", { headers: { cookie, origin: BASE } });
    expect((await envelope(posted)).data).toEqual({ orgId });
    for (const headers of <Record<string, string>[]>[{ cookie }, { cookie, origin: "https://evil.example" }]) {
      const refused = await call(route.action, "POST", { headers });
      expect([refused.status, (await envelope(refused)).error?.message]).toEqual([403, "Cross-site request refused."]);
    }
    const asAdmin = await call(orgAdmin.loader, "GET", { headers: { cookie } });
    expect((await envelope(asAdmin)).data).toBe("yes");
    expect((await call(orgAdmin.loader, "GET")).status).toBe(401);
  });

  test("admin: refused signed out, FORBIDDEN for someone who is not a platform admin; a platform admin passes", async () => {
    const route = seen("admin");
    const out = await call(route.loader, "GET");
    expect([out.status, (await envelope(out)).error?.code]).toEqual([401, "UNAUTHENTICATED"]);
    const member = await signedIn("someone@example.com");
    const refused = await call(route.loader, "GET", { headers: { cookie: member.cookie } });
    expect([refused.status, (await envelope(refused)).error?.code]).toEqual([403, "FORBIDDEN"]);
    const ops = await signedIn("ops@example.com");
    const r = await call(route.loader, "GET", { headers: { cookie: ops.cookie } });
    expect([r.status, (await envelope(r)).data]).toEqual([200, { orgId: ops.orgId, ctxOrgId: ops.orgId }]);
  });
});

test("while the database breaker is open a route that needs the database answers 503 at once; one that does not still answers", async () => {
  let ran = false;
  const needs = apiRoute({
    GET: {
      auth: "key",
      handle: async (_args, ctx) => {
        ran = true;
        return ok(ctx, "ran");
      },
    },
  });
  const without = apiRoute({ GET: { auth: "none", needsDatabase: false, handle: async (_args, ctx) => ok(ctx, "ran") } });
  const open = spyOn(databaseBreaker, "isOpen").mockReturnValue(true);
  try {
    const r = await call(needs.loader, "GET", { headers: { authorization: "Bearer mk_whatever" } });
    expect([r.status, (await envelope(r)).error?.code, ran]).toEqual([503, "SERVICE_UNAVAILABLE", false]);
    expect((await envelope(await call(without.loader, "GET"))).data).toBe("ran");
  } finally {
    open.mockRestore();
  }
});

test("the same-origin rule: a mutation must name this site by Origin or, without one, by Referer", () => {
  const post = (headers: Record<string, string>) => new Request(`${BASE}/keys`, { method: "POST", headers });
  expect(isSameOrigin(new Request(`${BASE}/keys`))).toBe(true);
  expect(isSameOrigin(post({ origin: BASE }))).toBe(true);
  expect(isSameOrigin(post({ referer: `${BASE}/keys` }))).toBe(true);
  expect(isSameOrigin(post({}))).toBe(false);
  expect(isSameOrigin(post({ origin: "https://evil.example" }))).toBe(false);
  expect(isSameOrigin(post({ origin: "null" }))).toBe(false);
  expect(isSameOrigin(post({ referer: "::::" }))).toBe(false);
  expect(isSameOrigin(post({ origin: "https://evil.example", referer: `${BASE}/keys` }))).toBe(false);
});

test("in production the Host header names no trusted origin: only APP_BASE_URL's origin does", () => {
  // A request whose Host (and so its URL) is the attacker's own name, as after DNS rebinding.
  const rebound = new Request("http://evil.example/keys", { method: "POST", headers: { origin: "http://evil.example" } });
  expect(isSameOrigin(rebound, true)).toBe(true); // development: the address the app is reached by
  expect(isSameOrigin(rebound, false)).toBe(false);
  const base = new URL(config.baseUrl).origin;
  expect(isSameOrigin(new Request("http://evil.example/keys", { method: "POST", headers: { origin: base } }), false)).toBe(true);
});

describe("the hot-route table", () => {
  const realRoutes = async () => ({
    "routes/api.v1.quota": { module: await import("../../routes/api.v1.quota") },
    "routes/api.v1.usage": { module: await import("../../routes/api.v1.usage") },
    "routes/api.v1.entitlements": { module: await import("../../routes/api.v1.entitlements") },
  });

  test("the hot routes are declared routes: the server dispatches to their loader and action", async () => {
    const hot = hotRoutesOf(await realRoutes(), HOT_ROUTES);
    expect([...hot.keys()].sort()).toEqual(["/api/v1/entitlements", "/api/v1/quota", "/api/v1/usage"]);
    expect(hot.get("/api/v1/entitlements")?.methods).toEqual(["GET"]);
    expect(hot.get("/api/v1/quota")?.methods).toEqual(["GET"]);
    expect(hot.get("/api/v1/usage")?.methods).toEqual(["POST"]);
  });

  test("the hot route with a path parameter is declared; only a plain id is read from the path, the rest goes to the router", async () => {
    const routes = { "routes/api.v1.entitlements.$feature": { module: await import("../../routes/api.v1.entitlements.$feature") } };
    const hot = hotRoutesOf(routes, Object.fromEntries(HOT_PARAM_ROUTES.map((h) => [h.prefix, h.id])));
    expect(hot.get("/api/v1/entitlements/")?.methods).toEqual(["GET"]);
    const prefix = "/api/v1/entitlements/";
    expect(hotParamOf("/api/v1/entitlements/tokens", prefix)).toBe("tokens");
    expect(hotParamOf("/api/v1/entitlements/api_call", prefix)).toBe("api_call");
    for (const path of [
      "/api/v1/entitlements",
      "/api/v1/entitlements/",
      "/api/v1/entitlements/a/b",
      "/api/v1/entitlements/tokens/",
      "/api/v1/entitlements/%2e%2e",
      `/api/v1/entitlements/${"x".repeat(129)}`,
      "/api/v1/quota",
    ])
      expect([path, hotParamOf(path, prefix)]).toEqual([path, undefined]);
    expect(hotParamPatternOf("/api/v1/entitlements/sso")).toBe("/api/v1/entitlements/:feature");
    expect(hotParamPatternOf("/api/v1/entitlements/")).toBeUndefined();
  });

  test("a missing hot route, or one whose module exports no declared route, is refused", async () => {
    const { "routes/api.v1.usage": usage } = await realRoutes();
    expect(() => hotRoutesOf({ "routes/api.v1.usage": usage }, HOT_ROUTES)).toThrow("/api/v1/quota (routes/api.v1.quota): no such route");
    const { route: _route, ...undeclared } = usage.module;
    expect(() => hotRoutesOf({ "routes/api.v1.usage": usage, "routes/api.v1.quota": { module: undeclared } }, HOT_ROUTES)).toThrow(
      "exports no route declared with apiRoute",
    );
    const lookalike = { route: { methods: ["GET"], loader: usage.module.loader, action: usage.module.action } };
    expect(() => hotRoutesOf({ "routes/api.v1.usage": usage, "routes/api.v1.quota": { module: lookalike } }, HOT_ROUTES)).toThrow(
      "exports no route declared with apiRoute",
    );
  });

  // server.ts run as it is, next to a build whose quota route is gone: it must stop, non-zero.
  const repo = join(import.meta.dir, "../../..");
  const dir = mkdtempSync(join(tmpdir(), "hot-routes-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("server.ts exits non-zero at start when a hot route is missing from the build", async () => {
    for (const name of ["app", "node_modules", "public", "package.json", "tsconfig.json"]) symlinkSync(join(repo, name), join(dir, name));
    writeFileSync(join(dir, "server.ts"), await Bun.file(join(repo, "server.ts")).text());
    mkdirSync(join(dir, "build"));
    const real = JSON.stringify(join(repo, "build/index.js"));
    writeFileSync(
      join(dir, "build/index.js"),
      `export * from ${real};\nimport * as real from ${real};\nexport const routes = { ...real.routes };\ndelete routes["routes/api.v1.quota"];\n`,
    );
    const proc = Bun.spawn([process.execPath, join(dir, "server.ts")], {
      cwd: dir,
      env: { ...process.env, PORT: "0", LOG_LEVEL: "info" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const exitCode = await Promise.race([proc.exited, Bun.sleep(20_000).then(() => "still running")]);
    if (exitCode === "still running") proc.kill();
    const output = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
    expect(exitCode).toBe(1);
    expect(output).toContain("/api/v1/quota (routes/api.v1.quota): no such route");
  }, 30_000);
});
