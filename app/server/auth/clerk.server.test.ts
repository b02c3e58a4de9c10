// The real @clerk/remix path without network: session tokens signed here with a local RSA key,
// verified by the app with CLERK_JWT_KEY, with Clerk's cookies (__session, __client_uat) and
// production-style keys. Admins of the token's org manage billing and keys, members view the
// dashboard and invoices; forged or expired tokens are signed out, and a page load that needs a
// fresh token answers Clerk's 307 handshake; the dev sign-in does not exist in Clerk mode.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { Webhook } from "svix";
import { startApp, type TestApp } from "../../../test/app";
import { localClerk } from "../../../test/clerk";
import { orgWithKey } from "../../../test/factories";
import { freePort } from "../../../test/ports";
import { sql } from "../platform/db.server";

const clerk = localClerk();
const { token } = clerk;
// A key Clerk never signed with: its tokens are forged.
const other = generateKeyPairSync("rsa", { modulusLength: 2048 });

const WEBHOOK_SECRET = `whsec_${Buffer.from("clerk-webhook-secret-for-tests!!").toString("base64")}`;
let app: TestApp;
let origin: string;
beforeAll(async () => {
  const port = freePort(); // the app must know its own origin before it starts
  origin = `http://127.0.0.1:${port}`;
  app = await startApp({
    ...clerk.env(origin),
    CLERK_SIGN_IN_URL: "https://accounts.example.test/sign-in",
    ADMIN_EMAILS: "boss@example.com",
    CLERK_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
});
afterAll(async () => {
  await app.stop();
});

// Clerk's cookies as ClerkJS leaves them: the session token and the client's last update (<= iat).
const cookies = (tok: string) => `__session=${tok}; __client_uat=${Math.floor(Date.now() / 1000) - 60}`;
const get = (path: string, tok?: string, headers: Record<string, string> = {}) =>
  fetch(`${app.url}${path}`, { redirect: "manual", headers: { ...(tok ? { cookie: cookies(tok) } : {}), ...headers } });
const orgId = `org_clerk${Date.now().toString(36)}`;

describe("Clerk sessions, verified without network", () => {
  test("an org owner's token opens the portal, scoped to the token's org", async () => {
    const r = await get("/dashboard", token({ sub: "user_1", azp: origin, org_id: orgId, org_role: "org:admin", email: "owner@example.com" }));
    expect(r.status).toBe(200);
    const keys = await fetch(`${app.url}/api/v1/keys`, {
      headers: { cookie: cookies(token({ sub: "user_1", azp: origin, org_id: orgId, org_role: "org:admin" })) },
    });
    expect(((await keys.json()) as any).data.keys).toEqual([]);
  });

  test("pages carry Clerk's state for ClerkApp (rootAuthLoader: the session verified on the server), never the secret key", async () => {
    const html = await (await get("/dashboard", token({ sub: "user_1", azp: origin, org_id: orgId, org_role: "org:admin" }))).text();
    expect(html).toContain('"clerkState":{"__internal_clerk_state"');
    expect(html).toContain(`"__publishableKey":"pk_live_${Buffer.from("clerk.example.com$").toString("base64")}"`);
    expect(html).toContain('"orgRole":"org:admin"');
    expect(html).not.toContain("sk_live_networkless");
  });

  test("session token v2 claims (o.id, o.rol) work too", async () => {
    expect((await get("/dashboard", token({ sub: "user_2", azp: origin, o: { id: orgId, rol: "admin" } }))).status).toBe(200);
  });

  test("a member views the dashboard and invoices but not billing or keys; the role comes from each request's token", async () => {
    const member = token({ sub: "user_3", azp: origin, org_id: orgId, org_role: "org:member" });
    expect((await get("/dashboard", member)).status).toBe(200);
    expect((await get("/invoices", member)).status).toBe(200);
    expect((await get("/billing", member)).status).toBe(403);
    expect((await get("/keys", member)).status).toBe(403);
    expect((await get("/api/v1/keys", member)).status).toBe(403);
    const create = (tok: string) =>
      fetch(`${app.url}/api/v1/keys`, { method: "POST", headers: { cookie: cookies(tok), origin, "content-type": "application/json" }, body: '{"name":"k"}' });
    expect((await create(member)).status).toBe(403);
    // Promoted in Clerk: the next token says org:admin, and the next request can.
    expect((await create(token({ sub: "user_3", azp: origin, org_id: orgId, org_role: "org:admin" }))).status).toBe(200);
    // A role outside admin/member gets nothing.
    expect((await get("/dashboard", token({ sub: "user_4", azp: origin, org_id: orgId, org_role: "org:billing_viewer" }))).status).toBe(403);
  });

  test("a page load with an expired token or without __client_uat answers Clerk's handshake (307) to the frontend API", async () => {
    const now = Math.floor(Date.now() / 1000);
    const page = { "sec-fetch-dest": "document", accept: "text/html" };
    const expired = token({ sub: "u", azp: origin, org_id: orgId, org_role: "org:admin", exp: now - 120, iat: now - 300, nbf: now - 300 });
    const r1 = await get("/dashboard", expired, page);
    expect(r1.status).toBe(307);
    expect(r1.headers.get("location")).toStartWith("https://clerk.example.com/v1/client/handshake");
    const fresh = token({ sub: "u", azp: origin, org_id: orgId, org_role: "org:admin" });
    const r2 = await fetch(`${app.url}/dashboard`, { redirect: "manual", headers: { cookie: `__session=${fresh}`, ...page } });
    expect(r2.status).toBe(307);
    expect(r2.headers.get("location")).toStartWith("https://clerk.example.com/v1/client/handshake");
    // The same expired token on a data request is simply signed out.
    expect((await get("/api/v1/keys", expired)).status).toBe(401);
  });

  test("forged, expired, foreign-party and missing tokens are signed out: redirect to Clerk's sign-in", async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const tok of [
      token({ sub: "u", azp: origin, org_id: orgId, org_role: "org:admin" }, other.privateKey),
      token({ sub: "u", azp: origin, org_id: orgId, org_role: "org:admin", exp: now - 120, iat: now - 300, nbf: now - 300 }),
      token({ sub: "u", azp: "https://evil.example", org_id: orgId, org_role: "org:admin" }),
      undefined,
    ]) {
      const r = await get("/dashboard", tok);
      expect(r.status).toBe(302);
      expect(r.headers.get("location")).toStartWith("/sign-in");
    }
    const signIn = await get("/sign-in?next=/billing");
    expect(signIn.headers.get("location")).toBe(`https://accounts.example.test/sign-in?redirect_url=${encodeURIComponent(`${origin}/billing`)}`);
  });

  test("platform admins come from the session token's platform_admin claim, ADMIN_EMAILS as fallback; the dev sign-in does not exist in Clerk mode", async () => {
    const base = { sub: "u", azp: origin, org_id: orgId, org_role: "org:member" };
    expect((await get("/admin", token({ ...base, platform_role: "platform_admin" }))).status).toBe(200);
    expect((await get("/admin", token({ ...base, public_metadata: { role: "platform_admin" } }))).status).toBe(200);
    expect((await get("/admin", token({ ...base, email: "boss@example.com" }))).status).toBe(200);
    expect((await get("/admin", token({ ...base, platform_role: "support", email: "owner@example.com" }))).status).toBe(404);
    expect((await get("/dev/sign-in")).status).toBe(404);
  });

  test("sign-out clears the session cookie as before; Clerk ends its own session", async () => {
    const tok = token({ sub: "user_1", azp: origin, org_id: orgId, org_role: "org:admin" });
    const r = await fetch(`${app.url}/sign-out`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie: cookies(tok), origin },
      body: new URLSearchParams(),
    });
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe("/");
    expect(r.headers.get("set-cookie")).toStartWith("__session=;");
  });

  test("sign out everywhere says that Clerk's sessions are revoked in Clerk", async () => {
    const r = await fetch(`${app.url}/api/admin/sessions/revoke`, {
      method: "POST",
      headers: {
        cookie: cookies(token({ sub: "u", azp: origin, org_id: orgId, org_role: "org:admin", email: "boss@example.com" })),
        origin,
        "content-type": "application/json",
      },
      body: JSON.stringify({ email: "owner@example.com" }),
    });
    expect(r.status).toBe(200);
    const { data } = (await r.json()) as any;
    expect(data).toMatchObject({ email: "owner@example.com", revoked: 0 });
    expect(data.note).toContain("Clerk");
  });
});

/** Delivers a Clerk webhook as Svix signs it (or with a given signature). */
async function deliver(payload: unknown, signature?: string) {
  const body = JSON.stringify(payload);
  const id = `msg_${crypto.randomUUID()}`;
  const at = new Date();
  return fetch(`${app.url}/api/webhooks/clerk`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "svix-id": id,
      "svix-timestamp": String(Math.floor(at.getTime() / 1000)),
      "svix-signature": signature ?? new Webhook(WEBHOOK_SECRET).sign(id, at, body),
    },
    body,
  });
}

/** Posts a raw body as Svix signs it at `at`, or with exactly the given headers instead. */
async function deliverRaw(body: string, { at = new Date(), headers }: { at?: Date; headers?: Record<string, string> } = {}) {
  const id = `msg_${crypto.randomUUID()}`;
  const signed = {
    "svix-id": id,
    "svix-timestamp": String(Math.floor(at.getTime() / 1000)),
    "svix-signature": new Webhook(WEBHOOK_SECRET).sign(id, at, body),
  };
  const r = await fetch(`${app.url}/api/webhooks/clerk`, { method: "POST", headers: { "content-type": "application/json", ...(headers ?? signed) }, body });
  return { status: r.status, body: (await r.json()) as unknown };
}
const refused = { ok: false, error: { code: "VALIDATION_FAILED", message: expect.any(String), details: expect.any(Object) } };

describe("Clerk webhooks (Svix-signed)", () => {
  test("a delivery without Svix headers, or signed too long ago, is refused in the envelope and changes nothing", async () => {
    const { orgId: victim, key } = await orgWithKey();
    const deleted = JSON.stringify({ type: "organization.deleted", data: { id: victim, object: "organization", deleted: true } });
    expect(await deliverRaw(deleted, { headers: {} })).toEqual({ status: 400, body: refused });
    expect(await deliverRaw(deleted, { at: new Date(Date.now() - 10 * 60_000) })).toEqual({ status: 400, body: refused });
    expect((await fetch(`${app.url}/api/v1/quota`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect((await sql`select 1 from clerk_org_deletions where org_id = ${victim}`).length).toBe(0);
  });

  const malformed: [string, string][] = [
    ["JSON null", "null"],
    ["not JSON", "{not json"],
    ["no type", JSON.stringify({ data: { id: "org_x" } })],
    ["a numeric type", JSON.stringify({ type: 42, data: { id: "org_x" } })],
    ["a JSON array", "[]"],
    ["a JSON string", '"organization.deleted"'],
  ];
  for (const [name, body] of malformed)
    test(`a validly signed body with ${name} → 400 VALIDATION_FAILED in the envelope, not a 500`, async () => {
      expect(await deliverRaw(body)).toEqual({ status: 400, body: refused });
    });

  test("the malformed deliveries logged no unexpected error", () => {
    expect(app.logs.filter((l) => /"msg":"(unexpected error|unhandled error[^"]*)"/.test(l))).toEqual([]);
  });

  test("an unsigned or forged delivery is refused and changes nothing", async () => {
    const { orgId: victim, key } = await orgWithKey();
    const deleted = { type: "organization.deleted", data: { id: victim, object: "organization", deleted: true } };
    expect((await deliver(deleted, "v1,Zm9yZ2VkIHNpZ25hdHVyZQ==")).status).toBe(400);
    expect((await fetch(`${app.url}/api/v1/quota`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
  });

  test("organization.deleted revokes the org's keys and lists it for an operator; its subscription is left alone", async () => {
    const { orgId: gone, key } = await orgWithKey();
    const r = await deliver({ type: "organization.deleted", data: { id: gone, object: "organization", deleted: true } });
    expect(r.status).toBe(200);
    expect((await fetch(`${app.url}/api/v1/quota`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
    const [listed] = await sql`select keys_revoked, handled_at from clerk_org_deletions where org_id = ${gone}`;
    expect(listed).toMatchObject({ keys_revoked: 1, handled_at: null });
    const [sub] = await sql`select status from subscriptions where org_id = ${gone}`;
    expect(sub.status).toBe("active");
    const page = await (await get("/admin", token({ sub: "u", azp: origin, org_id: orgId, org_role: "org:admin", email: "boss@example.com" }))).text();
    expect(page).toContain(gone);
  });

  test("a membership change applies from the next request, before the session token is refreshed", async () => {
    const user = `user_m${Date.now().toString(36)}`;
    const tok = token({ sub: user, azp: origin, org_id: orgId, org_role: "org:admin" });
    expect((await get("/keys", tok)).status).toBe(200);
    const membership = (type: string, role?: string) => ({
      type,
      data: { object: "organization_membership", organization: { id: orgId }, public_user_data: { user_id: user }, role, updated_at: Date.now() },
    });
    expect((await deliver(membership("organizationMembership.updated", "org:member"))).status).toBe(200);
    expect((await get("/keys", tok)).status).toBe(403);
    expect((await get("/dashboard", tok)).status).toBe(200);
    expect((await deliver(membership("organizationMembership.deleted"))).status).toBe(200);
    expect((await get("/dashboard", tok)).status).toBe(403);
    // A token issued after the change carries Clerk's current role and is believed.
    await Bun.sleep(1100);
    const later = token({ sub: user, azp: origin, org_id: orgId, org_role: "org:admin", iat: Math.floor(Date.now() / 1000) + 1 });
    expect((await get("/keys", later)).status).toBe(200);
  });
});
