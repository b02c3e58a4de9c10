// The Clerk path without network: session tokens signed here with a local RSA key, verified by
// the app with CLERK_JWT_KEY. Owners of the token's org get in; members, forged or expired
// tokens do not; the dev sign-in does not exist in Clerk mode.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSign, generateKeyPairSync } from "node:crypto";
import { startApp, type TestApp } from "../../test/app";
import { freePort } from "../../test/ports";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
const b64 = (x: string | Buffer) => Buffer.from(x).toString("base64url");

function token(claims: Record<string, unknown>, key = privateKey) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "ins_test" }));
  const body = b64(JSON.stringify({ iss: "https://example.clerk.accounts.dev", sid: "sess_1", iat: now - 5, nbf: now - 5, exp: now + 60, ...claims }));
  const sig = createSign("RSA-SHA256").update(`${header}.${body}`).sign(key);
  return `${header}.${body}.${b64(sig)}`;
}

let app: TestApp;
let origin: string;
beforeAll(async () => {
  const port = freePort(); // the app must know its own origin before it starts
  origin = `http://127.0.0.1:${port}`;
  app = await startApp({
    PORT: String(port),
    APP_BASE_URL: origin,
    CLERK_SECRET_KEY: "sk_test_networkless",
    CLERK_PUBLISHABLE_KEY: "pk_test_ZXhhbXBsZS5jbGVyay5hY2NvdW50cy5kZXYk",
    CLERK_JWT_KEY: publicKey.export({ type: "spki", format: "pem" }).toString(),
    CLERK_SIGN_IN_URL: "https://accounts.example.test/sign-in",
    ADMIN_EMAILS: "boss@example.com",
  });
});
afterAll(async () => {
  await app.stop();
});

const get = (path: string, tok?: string) => fetch(`${app.url}${path}`, { redirect: "manual", headers: tok ? { cookie: `__session=${tok}` } : {} });
const orgId = `org_clerk${Date.now().toString(36)}`;

describe("Clerk sessions, verified without network", () => {
  test("an org owner's token opens the portal, scoped to the token's org", async () => {
    const r = await get("/dashboard", token({ sub: "user_1", azp: origin, org_id: orgId, org_role: "org:admin", email: "owner@example.com" }));
    expect(r.status).toBe(200);
    const keys = await fetch(`${app.url}/api/v1/keys`, {
      headers: { cookie: `__session=${token({ sub: "user_1", azp: origin, org_id: orgId, org_role: "org:admin" })}` },
    });
    expect(((await keys.json()) as any).data.keys).toEqual([]);
  });

  test("pages load ClerkJS for the instance of the publishable key (it refreshes the session cookie)", async () => {
    const html = await (await get("/dashboard", token({ sub: "user_1", azp: origin, org_id: orgId, org_role: "org:admin" }))).text();
    expect(html).toContain('src="https://example.clerk.accounts.dev/npm/@clerk/clerk-js@5/dist/clerk.browser.js"');
    expect(html).not.toContain("sk_test_networkless");
  });

  test("session token v2 claims (o.id, o.rol) work too", async () => {
    expect((await get("/dashboard", token({ sub: "user_2", azp: origin, o: { id: orgId, rol: "admin" } }))).status).toBe(200);
  });

  test("a member (not the owner) is refused with 403", async () => {
    expect((await get("/dashboard", token({ sub: "user_3", azp: origin, org_id: orgId, org_role: "org:member" }))).status).toBe(403);
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

  test("admins come from ADMIN_EMAILS; the dev sign-in does not exist in Clerk mode", async () => {
    expect((await get("/admin", token({ sub: "u", azp: origin, org_id: orgId, org_role: "org:admin", email: "boss@example.com" }))).status).toBe(200);
    expect((await get("/admin", token({ sub: "u", azp: origin, org_id: orgId, org_role: "org:admin", email: "owner@example.com" }))).status).toBe(404);
    expect((await get("/dev/sign-in")).status).toBe(404);
  });

  test("sign-out clears the session cookie as before; Clerk ends its own session", async () => {
    const tok = token({ sub: "user_1", azp: origin, org_id: orgId, org_role: "org:admin" });
    const r = await fetch(`${app.url}/sign-out`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie: `__session=${tok}`, origin },
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
        cookie: `__session=${token({ sub: "u", azp: origin, org_id: orgId, org_role: "org:admin", email: "boss@example.com" })}`,
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
