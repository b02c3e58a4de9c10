// The audit log: who did what, for which org, in which request; append-only.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { signIn } from "../../../test/billing";
import { orgWithKey } from "../../../test/factories";
import { sql } from "../platform/db.server";

let app: TestApp;
beforeAll(async () => {
  app = await startApp({ ADMIN_EMAILS: "owner@example.com" });
});
afterAll(async () => {
  await app?.stop();
});

describe("audit log", () => {
  test("creating and revoking a key through the API records the person, the org and the request id", async () => {
    const { orgId } = await orgWithKey();
    const cookie = await signIn(app, orgId);
    const headers = { cookie, origin: app.url, "content-type": "application/json" };
    const created = await fetch(`${app.url}/api/v1/keys`, {
      method: "POST",
      headers: { ...headers, "x-request-id": "req-create-1" },
      body: JSON.stringify({ name: "ci" }),
    });
    const keyId = ((await created.json()) as any).data.id;
    await fetch(`${app.url}/api/v1/keys/${keyId}`, { method: "DELETE", headers: { ...headers, "x-request-id": "req-revoke-1" } });
    const rows = await sql`select actor, action, target, request_id from audit_log where org_id = ${orgId} and target = ${keyId} order by id`;
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { actor: "owner@example.com", action: "api_key.created", target: keyId, request_id: "req-create-1" },
      { actor: "owner@example.com", action: "api_key.revoked", target: keyId, request_id: "req-revoke-1" },
    ]);
    // The same facts as events, for webhooks.
    const events = await sql`select type from events where org_id = ${orgId} and data->>'keyId' = ${keyId} order by created_at`;
    expect(events.map((e) => e.type)).toEqual(["api_key.created", "api_key.revoked"]);
  });

  test("an admin's sign-out-everywhere is recorded", async () => {
    const { orgId } = await orgWithKey();
    const cookie = await signIn(app, orgId);
    const r = await fetch(`${app.url}/api/admin/sessions/revoke`, {
      method: "POST",
      headers: { cookie, origin: app.url, "content-type": "application/json", "x-request-id": "req-signout-1" },
      body: JSON.stringify({ email: "someone@example.com" }),
    });
    expect(r.status).toBe(200);
    const rows = await sql`select actor, org_id, request_id from audit_log where action = 'sessions.revoked_everywhere' and target = 'someone@example.com'`;
    expect(rows.map((x) => ({ ...x }))).toEqual([{ actor: "owner@example.com", org_id: null, request_id: "req-signout-1" }]);
  });

  test("records can be neither changed nor deleted", async () => {
    await sql`insert into audit_log (org_id, actor, action) values (null, 'test', 'test.entry')`;
    await expect(sql`update audit_log set actor = 'x' where action = 'test.entry'`).rejects.toThrow("append-only");
    await expect(sql`delete from audit_log where action = 'test.entry'`).rejects.toThrow("append-only");
  });
});
