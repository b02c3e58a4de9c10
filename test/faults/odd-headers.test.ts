// Headers that are not what they claim to be — a Referer that is not a URL, a Host that is not a
// host — are a client's mistake: 4xx in the envelope (or the page's error state), never a 500.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { startApp, type TestApp } from "../app";
import { signIn } from "../billing";

let app: TestApp;
let cookie: string;
beforeAll(async () => {
  app = await startApp();
  cookie = await signIn(app, `org_h${crypto.randomUUID().slice(0, 8)}`);
});
afterAll(async () => {
  await app.stop();
});

const refused = "Cross-site request refused.";

for (const path of ["/keys", "/billing", "/dev/sign-in", "/sign-out"]) {
  test(`${path}: a form post whose Referer is not a URL (no Origin) is refused 403, not 500`, async () => {
    const r = await fetch(`${app.url}${path}`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie, referer: "::::" },
      body: new URLSearchParams({ intent: "create", name: "x", email: "owner@example.com" }),
    });
    expect(r.status).toBe(403);
    expect(await r.text()).toContain(refused);
  });
}

test("an API mutation whose Referer is not a URL is 403 FORBIDDEN in the envelope", async () => {
  const r = await fetch(`${app.url}/api/v1/keys`, {
    method: "POST",
    headers: { cookie, referer: "::::", "content-type": "application/json" },
    body: JSON.stringify({ name: "x" }),
  });
  expect([r.status, ((await r.json()) as any).error]).toEqual([403, { code: "FORBIDDEN", message: refused, details: {} }]);
});

/** Sends raw bytes (fetch will not send a broken Host), returns status line and body. */
function raw(request: string): Promise<{ status: string; body: string }> {
  const { hostname, port } = new URL(app.url);
  return new Promise((resolve, reject) => {
    let out = "";
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(request));
    socket.setEncoding("utf8");
    socket.on("data", (d) => {
      out += d;
    });
    socket.on("close", () => resolve({ status: out.split("\r\n")[0], body: out.split("\r\n\r\n").slice(1).join("\r\n\r\n") }));
    socket.on("error", reject);
    socket.setTimeout(5000, () => socket.destroy(new Error("no answer")));
  });
}

const hostless: [string, (path: string) => string][] = [
  ["a Host that is not a host", (path) => `GET ${path} HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n`],
  ["no Host at all (HTTP/1.0)", (path) => `GET ${path} HTTP/1.0\r\n\r\n`],
];
for (const [name, request] of hostless) {
  for (const path of ["/dashboard", "/api/v1/plans", "/api/v1/quota"]) {
    test(`GET ${path} with ${name} → 400 VALIDATION_FAILED in the envelope`, async () => {
      const r = await raw(request(path));
      expect(r.status).toBe("HTTP/1.1 400 Bad Request");
      expect(JSON.parse(r.body).error).toEqual({ code: "VALIDATION_FAILED", message: "The Host header is missing or not a valid host.", details: {} });
    });
  }
}

test("the app logged no unexpected error", () => {
  expect(app.logs.filter((l) => l.includes('"msg":"unexpected error"'))).toEqual([]);
});
