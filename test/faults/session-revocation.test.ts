// Dev sign-in sessions end on the server: a copy of the cookie kept after sign-out, after an
// admin's "sign out everywhere" (page, API, ops CLI) or after expiry reads nothing and creates
// no API key.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { spawn } from "bun";
import { listApiKeys } from "../../app/server/auth/keys.server";
import { sql } from "../../app/server/platform/db.server";
import { startApp, type TestApp } from "../app";

let app: TestApp;
beforeAll(async () => {
  app = await startApp({ ADMIN_EMAILS: "ops@example.com" });
});
afterAll(async () => {
  await app.stop();
});

const newOrg = () => `org_rv${crypto.randomUUID().slice(0, 8)}`;
const newEmail = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}@example.com`;

async function signIn(email: string, orgId: string): Promise<string> {
  const r = await fetch(`${app.url}/dev/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { origin: app.url },
    body: new URLSearchParams({ email, orgId }),
  });
  expect(r.status).toBe(302);
  return r.headers.get("set-cookie")!.split(";")[0];
}

// As the portal's Sign out button posts it: a form.
const signOut = (cookie: string) =>
  fetch(`${app.url}/sign-out`, { method: "POST", redirect: "manual", headers: { cookie, origin: app.url }, body: new URLSearchParams() });
const page = (cookie: string, path: string) => fetch(`${app.url}${path}`, { headers: { cookie }, redirect: "manual" });
const createKey = (cookie: string) =>
  fetch(`${app.url}/api/v1/keys`, {
    method: "POST",
    headers: { cookie, origin: app.url, "content-type": "application/json" },
    body: JSON.stringify({ name: "after-revocation" }),
  });

/** The cookie is signed out everywhere it could be used: pages, session reads, key creation. */
async function expectSignedOut(cookie: string, orgId: string) {
  for (const path of ["/dashboard", "/keys", "/billing"]) {
    const r = await page(cookie, path);
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toStartWith("/dev/sign-in");
  }
  for (const path of ["/api/v1/subscription", "/api/v1/keys", "/api/v1/invoices"]) {
    const r = await page(cookie, path);
    expect(r.status).toBe(401);
    expect(((await r.json()) as any).error.code).toBe("UNAUTHENTICATED");
  }
  const created = await createKey(cookie);
  expect(created.status).toBe(401);
  expect(await listApiKeys(orgId)).toEqual([]);
}

describe("sign-out", () => {
  test("after sign-out the old cookie is refused on pages and session routes and cannot create keys", async () => {
    const orgId = newOrg();
    const cookie = await signIn(newEmail("out"), orgId);
    expect((await page(cookie, "/dashboard")).status).toBe(200);
    expect((await page(cookie, "/api/v1/subscription")).status).toBe(200);

    const out = await signOut(cookie);
    expect(out.status).toBe(302);
    expect(out.headers.get("location")).toBe("/");
    expect(out.headers.get("set-cookie")).toContain("Expires=Thu, 01 Jan 1970");

    await expectSignedOut(cookie, orgId);
  });

  test("signing out ends only that session: the same person's other sign-in keeps working", async () => {
    const email = newEmail("two");
    const orgId = newOrg();
    const first = await signIn(email, orgId);
    const second = await signIn(email, orgId);
    await signOut(first);
    expect((await page(first, "/api/v1/keys")).status).toBe(401);
    expect((await page(second, "/api/v1/keys")).status).toBe(200);
  });
});

describe("sign out everywhere", () => {
  test("bun run ops sessions:revoke ends every session of the person in every org, and only theirs", async () => {
    const email = newEmail("every");
    const [orgA, orgB] = [newOrg(), newOrg()];
    const cookies = [await signIn(email, orgA), await signIn(email, orgA), await signIn(email, orgB)];
    const bystander = await signIn(newEmail("bystander"), newOrg());

    const proc = spawn(["bun", join(import.meta.dir, "../../cli/ops.ts"), "sessions:revoke", email.toUpperCase(), "--json"], {
      env: { ...process.env, LOG_LEVEL: "silent" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ email, revoked: 3 });

    await expectSignedOut(cookies[0], orgA);
    await expectSignedOut(cookies[1], orgA);
    await expectSignedOut(cookies[2], orgB);
    expect((await page(bystander, "/api/v1/keys")).status).toBe(200);
  });

  test("POST /api/admin/sessions/revoke: admins only, validated, ends the person's sessions", async () => {
    const email = newEmail("api");
    const orgId = newOrg();
    const victim = await signIn(email, orgId);
    const post = (cookie: string, body: unknown) =>
      fetch(`${app.url}/api/admin/sessions/revoke`, {
        method: "POST",
        headers: { cookie, origin: app.url, "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    const notAdmin = await post(await signIn(newEmail("user"), newOrg()), { email });
    expect(notAdmin.status).toBe(403);
    expect((await page(victim, "/api/v1/keys")).status).toBe(200);

    const admin = await signIn("ops@example.com", newOrg());
    const bad = await post(admin, { email: "not-an-email" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.code).toBe("VALIDATION_FAILED");
    expect((await page(admin, "/api/admin/sessions/revoke")).status).toBe(405);

    const done = await post(admin, { email });
    expect(done.status).toBe(200);
    expect(((await done.json()) as any).data).toEqual({ email, revoked: 1 });
    await expectSignedOut(victim, orgId);
  });

  test("the /admin page's Sign out everywhere form ends the person's sessions", async () => {
    const email = newEmail("page");
    const orgId = newOrg();
    const victim = await signIn(email, orgId);
    const admin = await signIn("ops@example.com", newOrg());
    const r = await fetch(`${app.url}/admin`, {
      method: "POST",
      headers: { cookie: admin, origin: app.url },
      body: new URLSearchParams({ intent: "revoke-sessions", email }),
    });
    expect(r.status).toBe(200);
    expect(await r.text()).toContain("1 session ended");
    await expectSignedOut(victim, orgId);
    expect((await page(admin, "/admin")).status).toBe(200);
  });
});

test("an expired session is refused", async () => {
  const email = newEmail("expired");
  const orgId = newOrg();
  const cookie = await signIn(email, orgId);
  expect((await page(cookie, "/api/v1/keys")).status).toBe(200);
  await sql`update sessions set expires_at = now() - interval '1 second' where email = ${email}`;
  await expectSignedOut(cookie, orgId);
});

test("a session ends with its org", async () => {
  const orgId = newOrg();
  const cookie = await signIn(newEmail("gone"), orgId);
  await sql`delete from organisations where id = ${orgId}`;
  expect((await page(cookie, "/api/v1/keys")).status).toBe(401);
});
