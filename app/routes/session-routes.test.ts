// Session routes and portal pages: sign-in, authorization (signed out, another org's ids),
// CSRF, and the same envelopes as the API.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../test/app";
import { orgWithKey } from "../../test/factories";
import { listApiKeys } from "../server/auth/keys.server";

let app: TestApp;
beforeAll(async () => {
  app = await startApp({ ADMIN_EMAILS: "ops@example.com" });
});
afterAll(async () => {
  if (process.env.DEBUG_APP_LOGS) console.log(app.logs.slice(-30).join("\n"));
  await app.stop();
});

async function signIn(email: string, orgId?: string): Promise<string> {
  const form = new URLSearchParams({ email, ...(orgId ? { orgId } : {}), orgName: "Test Org" });
  const r = await fetch(`${app.url}/dev/sign-in`, { method: "POST", body: form, redirect: "manual", headers: { origin: app.url } });
  expect(r.status).toBe(302);
  expect(r.headers.get("location")).toBe("/dashboard");
  const cookie = r.headers.get("set-cookie")!;
  expect(cookie).toContain("HttpOnly");
  expect(cookie).toContain("SameSite=Lax");
  return cookie.split(";")[0];
}

const orgName = () => `org_s${crypto.randomUUID().slice(0, 8)}`;

describe("dev sign-in", () => {
  test("signs in as the owner of a new org and opens the dashboard", async () => {
    const cookie = await signIn("owner1@example.com", orgName());
    const page = await fetch(`${app.url}/dashboard`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Dashboard");
  });

  test("an org that belongs to another owner is refused", async () => {
    const org = orgName();
    await signIn("first@example.com", org);
    const r = await fetch(`${app.url}/dev/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: app.url },
      body: new URLSearchParams({ email: "intruder@example.com", orgId: org }),
    });
    expect(r.status).toBe(403);
    expect(r.headers.get("set-cookie")).toBeNull();
  });

  test("after sign-in only a path on this site is followed; anything else lands on the dashboard", async () => {
    const after = async (next: string) => {
      const form = new URLSearchParams({ email: "next@example.com", orgId: orgName(), next });
      const r = await fetch(`${app.url}/dev/sign-in`, { method: "POST", body: form, redirect: "manual", headers: { origin: app.url } });
      expect(r.status).toBe(302);
      return r.headers.get("location");
    };
    expect(await after("/billing")).toBe("/billing");
    for (const next of ["//134744072", "//evil.com/x", "/\\evil.com", "/%2F%2Fevil.com", "https://evil.com", "http:/evil.com", "", "billing"])
      expect([next, await after(next)]).toEqual([next, "/dashboard"]);
  });

  test("a bad email is a 400 on the page", async () => {
    const r = await fetch(`${app.url}/dev/sign-in`, { method: "POST", headers: { origin: app.url }, body: new URLSearchParams({ email: "not-an-email" }) });
    expect(r.status).toBe(400);
  });
});

describe("authorization", () => {
  const pages = ["/dashboard", "/billing", "/invoices", "/keys"];
  test.each(pages)("signed out, %s redirects to sign-in", async (path) => {
    const r = await fetch(`${app.url}${path}`, { redirect: "manual" });
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toStartWith("/dev/sign-in");
  });

  // Always three elements: bun takes a callback with more parameters than arguments for `done`.
  const routes: [string, string, unknown][] = [
    ["GET", "/api/v1/keys", null],
    ["POST", "/api/v1/keys", { name: "x" }],
    ["DELETE", "/api/v1/keys/key_x", null],
    ["GET", "/api/v1/invoices", null],
    ["GET", "/api/v1/subscription", null],
    ["POST", "/api/v1/billing/checkout", { planCode: "starter" }],
    ["POST", "/api/v1/billing/portal", null],
  ];
  test.each(routes)("signed out, %s %s is a 401 in the envelope", async (method, path, body) => {
    const r = await fetch(`${app.url}${path}`, {
      method,
      headers: { "content-type": "application/json", origin: app.url },
      body: body ? JSON.stringify(body) : undefined,
    });
    expect(r.status).toBe(401);
    expect(((await r.json()) as any).error.code).toBe("UNAUTHENTICATED");
  });

  test("another org's key cannot be revoked (404) and stays live", async () => {
    const victim = await orgWithKey();
    const cookie = await signIn("attacker@example.com", orgName());
    const r = await fetch(`${app.url}/api/v1/keys/${victim.keyId}`, { method: "DELETE", headers: { cookie, origin: app.url } });
    expect(r.status).toBe(404);
    expect(((await r.json()) as any).error.code).toBe("NOT_FOUND");
    expect((await listApiKeys(victim.orgId))[0].revokedAt).toBeNull();
  });

  test("the key list shows only the session's org", async () => {
    await orgWithKey();
    const cookie = await signIn("lister@example.com", orgName());
    const r = await fetch(`${app.url}/api/v1/keys`, { headers: { cookie } });
    expect(((await r.json()) as any).data.keys).toEqual([]);
  });

  test("a non-admin on /admin is refused", async () => {
    const cookie = await signIn("user@example.com", orgName());
    const r = await fetch(`${app.url}/admin`, { headers: { cookie }, redirect: "manual" });
    expect([403, 404]).toContain(r.status);
  });
});

describe("API keys through the session", () => {
  test("create shows the key once; list shows only its prefix; revoke works", async () => {
    const cookie = await signIn("keys@example.com", orgName());
    const created = await fetch(`${app.url}/api/v1/keys`, {
      method: "POST",
      headers: { cookie, origin: app.url, "content-type": "application/json" },
      body: JSON.stringify({ name: "ci" }),
    });
    expect(created.status).toBe(200);
    const { data } = (await created.json()) as any;
    expect(data.key).toMatch(/^mk_test_[A-Za-z0-9]{32}$/);
    const listed = ((await (await fetch(`${app.url}/api/v1/keys`, { headers: { cookie } })).json()) as any).data.keys;
    expect(JSON.stringify(listed)).not.toContain(data.key);
    expect(listed[0]).toMatchObject({ id: data.id, name: "ci", prefix: data.key.slice(0, 12), revokedAt: null });
    const revoked = await fetch(`${app.url}/api/v1/keys/${data.id}`, { method: "DELETE", headers: { cookie, origin: app.url } });
    expect(revoked.status).toBe(200);
  });

  test("bad input: missing name, unknown field, wrong type → 400, nothing created", async () => {
    const cookie = await signIn("badkeys@example.com", orgName());
    for (const body of [{}, { name: "" }, { name: "x", extra: 1 }, { name: 5 }, { name: "x".repeat(61) }]) {
      const r = await fetch(`${app.url}/api/v1/keys`, {
        method: "POST",
        headers: { cookie, origin: app.url, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(400);
    }
    expect(((await (await fetch(`${app.url}/api/v1/keys`, { headers: { cookie } })).json()) as any).data.keys).toEqual([]);
  });
});

describe("CSRF", () => {
  test("a cross-origin POST to a session route is refused and changes nothing", async () => {
    const cookie = await signIn("csrf@example.com", orgName());
    const r = await fetch(`${app.url}/api/v1/keys`, {
      method: "POST",
      headers: { cookie, origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ name: "evil" }),
    });
    expect(r.status).toBe(403);
    expect(((await r.json()) as any).error.code).toBe("FORBIDDEN");
    const none = await fetch(`${app.url}/api/v1/keys`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify({ name: "no-origin" }),
    });
    expect(none.status).toBe(403);
    expect(((await (await fetch(`${app.url}/api/v1/keys`, { headers: { cookie } })).json()) as any).data.keys).toEqual([]);
  });

  test("a cross-origin form POST to a portal action is refused", async () => {
    const cookie = await signIn("csrf2@example.com", orgName());
    const r = await fetch(`${app.url}/keys`, {
      method: "POST",
      headers: { cookie, origin: "https://evil.example" },
      body: new URLSearchParams({ intent: "create", name: "evil" }),
    });
    expect(r.status).toBe(403);
    expect(((await (await fetch(`${app.url}/api/v1/keys`, { headers: { cookie } })).json()) as any).data.keys).toEqual([]);
  });

  test("a cross-origin sign-in POST is refused", async () => {
    const r = await fetch(`${app.url}/dev/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: "https://evil.example" },
      body: new URLSearchParams({ email: "x@example.com" }),
    });
    expect(r.status).toBe(403);
  });
});

describe("ids on every response", () => {
  test("pages and redirects carry x-request-id and x-corr-id too", async () => {
    for (const path of ["/", "/dashboard", "/dev/sign-in"]) {
      const r = await fetch(`${app.url}${path}`, { redirect: "manual", headers: { "x-request-id": "page-req-1" } });
      expect(r.headers.get("x-request-id")).toBe("page-req-1");
      expect(r.headers.get("x-corr-id")).toBeTruthy();
    }
  });
});

test("without Clerk keys no Clerk code reaches the browser", async () => {
  const html = await (await fetch(`${app.url}/`)).text();
  expect(html).not.toContain("clerk-js");
  expect(html).not.toContain("Clerk.load");
});
