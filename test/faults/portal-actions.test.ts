// Portal actions (/keys, /billing, /admin, /dev/sign-in, /sign-out) answer a JSON body, a bare
// POST and a wrong method with 400 / 405 and the page's own error state — never a 500.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../app";
import { signIn } from "../billing";

let app: TestApp;
let cookie: string;
beforeAll(async () => {
  app = await startApp({ ADMIN_EMAILS: "owner@example.com" });
  cookie = await signIn(app, `org_p${crypto.randomUUID().slice(0, 8)}`);
});
afterAll(async () => {
  await app.stop();
});

const FORM_MESSAGE = "Send the form as application/x-www-form-urlencoded or multipart/form-data.";
const cases: [string, string, Record<string, string>, string | undefined, number, string][] = [
  ["a JSON body", "POST", { "content-type": "application/json" }, '{"intent":"create","name":"x"}', 400, FORM_MESSAGE],
  ["a bare POST", "POST", {}, undefined, 400, FORM_MESSAGE],
  ["PUT", "PUT", { "content-type": "application/x-www-form-urlencoded" }, "intent=create&name=x", 405, "Submit this form with POST."],
  ["DELETE", "DELETE", {}, undefined, 405, "Submit this form with POST."],
];

describe("portal actions refuse what is not a posted form", () => {
  for (const path of ["/keys", "/billing", "/admin", "/dev/sign-in", "/sign-out"]) {
    for (const [name, method, headers, body, status, message] of cases) {
      test(`${path}: ${name} → ${status}`, async () => {
        const r = await fetch(`${app.url}${path}`, { method, redirect: "manual", headers: { cookie, origin: app.url, ...headers }, body });
        expect(r.status).toBe(status);
        // Pages render their error state; /sign-out (no page) answers the state as JSON.
        const text = await r.text();
        if (path !== "/sign-out") return expect(text).toContain(message);
        expect(JSON.parse(text)).toEqual({ ok: false, error: message, code: status === 405 ? "METHOD_NOT_ALLOWED" : "VALIDATION_FAILED" });
        if (status === 405) expect(r.headers.get("allow")).toBe("POST");
      });
    }
  }
});

test("a proper form post still works: a key is created, sign-out signs out", async () => {
  const created = await fetch(`${app.url}/keys`, {
    method: "POST",
    headers: { cookie, origin: app.url },
    body: new URLSearchParams({ intent: "create", name: "k" }),
  });
  expect(created.status).toBe(200);
  expect(await created.text()).toContain("mk_test_");
  const out = await fetch(`${app.url}/sign-out`, { method: "POST", redirect: "manual", headers: { cookie, origin: app.url }, body: new URLSearchParams() });
  expect(out.status).toBe(302);
});

describe("a NUL character in text is bad input (400), never a failed write (500)", () => {
  const NUL_MESSAGE = "Text must not contain NUL characters (U+0000).";
  // The test above signed its session out.
  let cookie: string;
  beforeAll(async () => {
    cookie = await signIn(app, `org_n${crypto.randomUUID().slice(0, 8)}`);
  });
  const keyCount = async () => {
    const r = await fetch(`${app.url}/api/v1/keys`, { headers: { cookie, origin: app.url } });
    return ((await r.json()) as { data: { keys: unknown[] } }).data.keys.length;
  };

  test("JSON: POST /api/v1/keys and /api/v1/webhooks/endpoints answer VALIDATION_FAILED and create nothing", async () => {
    const before = await keyCount();
    for (const [path, body] of [
      ["/api/v1/keys", '{"name":"a\\u0000b"}'],
      ["/api/v1/webhooks/endpoints", '{"url":"http://127.0.0.1:9/a\\u0000b","eventTypes":["usage.threshold_reached"]}'],
    ]) {
      const r = await fetch(`${app.url}${path}`, { method: "POST", headers: { cookie, origin: app.url, "content-type": "application/json" }, body });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "VALIDATION_FAILED", message: NUL_MESSAGE });
    }
    expect(await keyCount()).toBe(before);
    // An escaped backslash before "u0000" is not a NUL: that text is stored as sent.
    const ok = await fetch(`${app.url}/api/v1/keys`, {
      method: "POST",
      headers: { cookie, origin: app.url, "content-type": "application/json" },
      body: '{"name":"a\\\\u0000b"}',
    });
    expect(ok.status).toBe(200);
  });

  test("forms: /keys and /dev/sign-in show the error with a 400", async () => {
    for (const [path, form] of [
      ["/keys", { intent: "create", name: "a\u0000b" }],
      ["/dev/sign-in", { email: "owner@example.com", orgId: "org_nul", orgName: "a\u0000b" }],
    ] as const) {
      const r = await fetch(`${app.url}${path}`, { method: "POST", redirect: "manual", headers: { cookie, origin: app.url }, body: new URLSearchParams(form) });
      expect(r.status).toBe(400);
      expect(await r.text()).toContain(NUL_MESSAGE);
    }
  });
});
