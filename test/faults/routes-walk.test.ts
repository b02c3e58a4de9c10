// Walks every route file in app/routes/ (the URLs come from the file names, so a new route is
// walked without touching this file) with every method, wrong content types, malformed bodies,
// junk query strings and a bare POST — signed out, with a session (an admin's) and with an API
// key — against the real app and the local Stripe. Nothing may answer 5xx, and every 4xx of an
// /api route must be the error envelope.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApiKey } from "../../app/server/auth/keys.server";
import { subscribeWithTestCard } from "../../app/server/billing/stripe.server";
import { sql } from "../../app/server/platform/db.server";
import type { StripeLocal } from "../../stripe-emulator/index";
import { startApp, type TestApp } from "../app";
import { newOrg, signIn, startStripeWithoutWebhooks } from "../billing";
import { setSubscriptionMirror } from "../factories";
import { routeFiles, urlsOf } from "../routes";

const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]);
const deep = `${"[".repeat(4000)}${"]".repeat(4000)}`;
/** Bodies for methods that carry one: [name, content type or none, body or none]. */
const BODIES: [string, string | null, BodyInit | null][] = [
  ["a bare request", null, null],
  ["JSON with wrong fields", "application/json", JSON.stringify({ intent: "zzz", planCode: "nope", name: "", request_id: "", eventId: "x" })],
  ["JSON with wrong types", "application/json", JSON.stringify({ planCode: { $ne: 1 }, name: 12, request_id: ["a"], quantity: "1e309", jobId: -1 })],
  ["JSON null", "application/json", "null"],
  ["deeply nested JSON", "application/json", deep],
  ["malformed JSON", "application/json", '{"planCode":'],
  ["invalid UTF-8 as JSON", "application/json", invalidUtf8],
  ["JSON with out-of-range ids", "application/json", JSON.stringify({ jobId: "99999999999999999999" })],
  ["a form", "application/x-www-form-urlencoded", "intent=zzz&planCode=nope&name=&keyId=%ff&eventId=evt_x&jobId=1x"],
  ["a form with a NUL and out-of-range ids", "application/x-www-form-urlencoded", "intent=revoke&keyId=key_%00&jobId=99999999999999999999&eventId=evt_%00"],
  ["an upgrade form with a bad idempotency key", "application/x-www-form-urlencoded", `intent=upgrade&planCode=pro&idempotencyKey=${"%E2%82%AC".repeat(300)}`],
  [
    "a form with an unknown intent and files",
    "multipart/form-data; boundary=walk",
    '--walk\r\nContent-Disposition: form-data; name="intent"; filename="x.txt"\r\n\r\nupgrade\r\n--walk--\r\n',
  ],
  ["a broken multipart body", "multipart/form-data; boundary=walk", "garbage without boundaries"],
  ["text/plain", "text/plain", "hello"],
];
const METHODS_WITH_BODY = ["POST", "PUT", "PATCH", "DELETE"];
const QUERIES = ["", "?metric=nope&periodKey=..%2F..&next=%2F%2Fevil.example&_data=routes%2Fnope&x=%ff"];

let local: StripeLocal;
let app: TestApp;
const auths: Record<string, Record<string, string>> = { "signed out": {} };

beforeAll(async () => {
  local = await startStripeWithoutWebhooks();
  app = await startApp({ ADMIN_EMAILS: "owner@example.com" });
  // An org with a real subscription in the local Stripe, mirrored as its webhook would.
  const orgId = await newOrg();
  const subscriptionId = await subscribeWithTestCard({ orgId, planCode: "starter" });
  await setSubscriptionMirror({ orgId, planCode: "starter" });
  await sql`update subscriptions set stripe_subscription_id = ${subscriptionId} where org_id = ${orgId}`;
  auths["an admin session"] = { cookie: await signIn(app, orgId), origin: app.url };
  auths["an API key"] = { authorization: `Bearer ${(await createApiKey({ orgId, name: "walk" })).key}` };
});
afterAll(async () => {
  await app.stop();
  await local.stop();
});

type Finding = { request: string; status: number; body: string };

async function check(path: string, method: string, auth: string, body: (typeof BODIES)[number] | null): Promise<Finding | null> {
  const [bodyName, type, payload] = body ?? ["", null, null];
  const headers: Record<string, string> = { ...auths[auth] };
  if (type) headers["content-type"] = type;
  const r = await fetch(`${app.url}${path}`, { method, headers, body: payload, redirect: "manual" });
  const text = method === "HEAD" ? "" : await r.text();
  const finding = { request: `${method} ${path} ${bodyName} (${auth})`.replace(/ +/g, " "), status: r.status, body: text.slice(0, 200) };
  if (r.status >= 500) return finding;
  if (path.startsWith("/api/") && r.status >= 400 && method !== "HEAD") {
    let envelope: any = null;
    try {
      envelope = JSON.parse(text);
    } catch {}
    const ok =
      /^application\/json/.test(r.headers.get("content-type") ?? "") &&
      envelope?.ok === false &&
      typeof envelope.error?.code === "string" &&
      typeof envelope.error.message === "string" &&
      typeof envelope.error.details === "object" &&
      envelope.error.details !== null;
    if (!ok) return finding;
  }
  return null;
}

describe("every route, every method, bad input, three kinds of caller: no 5xx, /api 4xx in the envelope", () => {
  test("the walk covers every route file", () => {
    expect(routeFiles.length).toBeGreaterThan(20);
    for (const f of routeFiles) expect(urlsOf(f).length).toBeGreaterThan(0);
  });

  for (const file of routeFiles) {
    test(`${file}`, async () => {
      const requests: [string, string, string, (typeof BODIES)[number] | null][] = [];
      for (const url of urlsOf(file))
        for (const auth of Object.keys(auths)) {
          for (const q of QUERIES) for (const m of ["GET", "HEAD", "OPTIONS"]) requests.push([`${url}${q}`, m, auth, null]);
          for (const m of METHODS_WITH_BODY) for (const b of BODIES) requests.push([url, m, auth, b]);
        }
      const findings: Finding[] = [];
      // A few at a time: the app, the worker-less database and the local Stripe share two cores.
      for (let i = 0; i < requests.length; i += 6) {
        const batch = await Promise.all(requests.slice(i, i + 6).map(([p, m, a, b]) => check(p, m, a, b)));
        findings.push(...batch.filter((f): f is Finding => f !== null));
      }
      expect(findings).toEqual([]);
    }, 120_000);
  }

  test("an /api path in another case is no API route: 404 in the envelope for every method, never a page", async () => {
    for (const path of ["/API/v1/usage", "/Api/v1/quota", "/aPi/v1/keys"])
      for (const method of ["GET", "POST"]) {
        const r = await fetch(`${app.url}${path}`, {
          method,
          headers: { ...auths["signed out"], "content-type": "application/json" },
          body: method === "POST" ? "{}" : undefined,
        });
        expect([path, method, r.status, ((await r.json()) as { error: { code: string } }).error.code]).toEqual([path, method, 404, "NOT_FOUND"]);
        expect(r.headers.get("x-request-id")).toBeTruthy();
      }
  });

  test("the app is still up and logged no unexpected error", () => {
    expect(app.proc.exitCode).toBeNull();
    expect(app.logs.filter((l) => /"msg":"(unexpected error|unhandled error[^"]*)"/.test(l))).toEqual([]);
  });
});
