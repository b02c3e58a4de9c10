// Request bodies are capped once, at the server boundary, before any route reads them: a
// declared Content-Length over the cap is refused unread, a chunked body is counted as it streams;
// both answer 413 PAYLOAD_TOO_LARGE in the envelope, and the app's memory stays flat however
// many oversized posts arrive. An unsigned webhook is refused before its body is read at all.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startApp, type TestApp } from "../app";
import { newOrg, signIn } from "../billing";
import { orgWithKey } from "../factories";

let app: TestApp;
let cookie: string;
let key: string;
beforeAll(async () => {
  app = await startApp();
  cookie = await signIn(app, await newOrg());
  key = (await orgWithKey()).key;
});
afterAll(async () => {
  await app.stop();
});

const MB = 1024 * 1024;
const bytes = (n: number) => new Uint8Array(n).fill(0x61);

/** A body without Content-Length: Bun's fetch sends a ReadableStream chunked. */
function chunked(total: number, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let sent = 0;
  const piece = bytes(chunk);
  return new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      sent += chunk;
      c.enqueue(piece);
    },
  });
}

function rssMB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  return Math.round(kb / 1024);
}

async function post(path: string, body: BodyInit, headers: Record<string, string> = {}) {
  const r = await fetch(`${app.url}${path}`, {
    method: "POST",
    headers: { origin: app.url, "content-type": "application/json", ...headers },
    body,
    duplex: "half",
  } as RequestInit);
  return { status: r.status, body: (await r.json().catch(() => null)) as any };
}

const tooLarge = (limit: number) => ({
  status: 413,
  body: { ok: false, error: { code: "PAYLOAD_TOO_LARGE", message: `The body is larger than ${limit} bytes.`, details: { limit } } },
});

describe("5 MB posts answer 413, with and without Content-Length", () => {
  // "api": the envelope both ways. "page": a declared size gets the envelope unread; a chunked
  // form gets the page's own error state, 413. "unread": a route that never reads the body.
  const routes: [string, () => Record<string, string>, number, "api" | "page" | "unread"][] = [
    ["/api/webhooks/stripe", () => ({ "stripe-signature": "t=1,v1=abc" }), MB, "api"],
    ["/api/v1/usage", () => ({ authorization: `Bearer ${key}` }), 16 * 1024, "api"],
    ["/api/v1/keys", () => ({ cookie }), 16 * 1024, "api"],
    ["/api/v1/billing/upgrade", () => ({ cookie }), 16 * 1024, "api"],
    ["/api/no-such-route", () => ({}), 16 * 1024, "unread"],
    ["/keys", () => ({ cookie, "content-type": "application/x-www-form-urlencoded" }), 64 * 1024, "page"],
    ["/dev/sign-in", () => ({ "content-type": "application/x-www-form-urlencoded" }), 64 * 1024, "page"],
  ];
  for (const [path, headers, limit, kind] of routes) {
    test(`${path}: declared 5 MB → 413 in the envelope, unread`, async () => {
      expect(await post(path, bytes(5 * MB), headers())).toEqual(tooLarge(limit));
    });
    test(`${path}: 5 MB chunked → ${kind === "unread" ? "its own answer" : "413 at the first byte over"}`, async () => {
      if (kind === "api") return expect(await post(path, chunked(5 * MB), headers())).toEqual(tooLarge(limit));
      const r = await fetch(`${app.url}${path}`, {
        method: "POST",
        headers: { origin: app.url, ...headers() },
        body: chunked(5 * MB),
        duplex: "half",
      } as RequestInit);
      if (kind === "unread") return expect([r.status, ((await r.json()) as any).error.code]).toEqual([404, "NOT_FOUND"]);
      expect(r.status).toBe(413);
      expect(await r.text()).toContain(`The body is larger than ${limit} bytes.`);
    });
  }

  test("a body just under the webhook cap is read (and refused for its signature, not its size)", async () => {
    const r = await post("/api/webhooks/stripe", chunked(MB - 64 * 1024), { "stripe-signature": "t=1,v1=abc" });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_FAILED");
  });
});

test("an unsigned webhook is answered 400 before its body has been sent", async () => {
  // The body never ends: only an answer that does not wait for it can arrive.
  const endless = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes(1024));
    },
  });
  const r = await Promise.race([post("/api/webhooks/stripe", endless), Bun.sleep(5000).then(() => "timed out" as const)]);
  expect(r).toEqual({ status: 400, body: { ok: false, error: { code: "VALIDATION_FAILED", message: "Missing Stripe-Signature header.", details: {} } } });
});

test("memory stays flat under oversized posts: 16 × 25 MB, half chunked, half declared", async () => {
  const pid = app.proc.pid;
  Bun.gc(true);
  const before = rssMB(pid);
  for (let i = 0; i < 8; i++) {
    expect((await post("/api/webhooks/stripe", chunked(25 * MB), { "stripe-signature": "t=1,v1=abc" })).status).toBe(413);
    expect((await post("/api/webhooks/stripe", bytes(12 * MB), { "stripe-signature": "t=1,v1=abc" })).status).toBe(413);
  }
  const after = rssMB(pid);
  console.log(`app RSS ${before} MB → ${after} MB after 16 oversized webhook posts`);
  expect(after - before).toBeLessThan(48);
}, 60_000);
