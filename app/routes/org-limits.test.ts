// Per-org caps on what fans out: at most MAX_ACTIVE_API_KEYS active keys and MAX_WEBHOOK_ENDPOINTS
// endpoints (each event is delivered to every endpoint), held exactly under concurrent creation,
// and refused by the API and the portal alike with the limit named.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../test/app";
import { signIn } from "../../test/billing";
import { orgWithKey } from "../../test/factories";
import { createApiKey, MAX_ACTIVE_API_KEYS, revokeApiKey } from "../server/auth/keys.server";
import { createEndpoint, MAX_WEBHOOK_ENDPOINTS } from "../server/notify/endpoints.server";
import { sql } from "../server/platform/db.server";
import type { AppError } from "../server/platform/errors.server";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app?.stop();
});

/** Calls a session route of the app as the org's owner, same origin: `{ status, body }`. */
async function session(orgId: string) {
  const cookie = await signIn(app, orgId);
  return async (path: string, body: unknown, form = false) => {
    const r = await fetch(`${app.url}${path}`, {
      method: "POST",
      headers: { cookie, origin: app.url, ...(form ? {} : { "content-type": "application/json" }) },
      body: form ? new URLSearchParams(body as Record<string, string>) : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any };
  };
}

const endpoint = (orgId: string, n: number) =>
  createEndpoint({ orgId, url: `http://127.0.0.1:9/hook-${n}`, eventTypes: ["invoice.paid"], actor: "t", requestId: null });

describe("API keys per org", () => {
  test(`at most ${MAX_ACTIVE_API_KEYS} active keys, exactly, when 120 are created at once; a revoked key makes room`, async () => {
    const { orgId } = await orgWithKey();
    const created = await Promise.allSettled(Array.from({ length: 120 }, (_, i) => createApiKey({ orgId, name: `k${i}` })));
    expect(created.filter((c) => c.status === "fulfilled").length).toBe(MAX_ACTIVE_API_KEYS - 1);
    const refused = created.flatMap((c) => (c.status === "rejected" ? [c.reason as AppError] : []));
    expect(new Set(refused.map((e) => `${e.code} ${e.message} ${JSON.stringify(e.details.limit)}`))).toEqual(
      new Set([`VALIDATION_FAILED An organisation can have at most 100 active API keys: revoke one you no longer use first. 100`]),
    );
    expect((await sql`select id from api_keys where org_id = ${orgId} and revoked_at is null`).length).toBe(MAX_ACTIVE_API_KEYS);

    const post = await session(orgId);
    const api = await post("/api/v1/keys", { name: "one more" });
    expect([api.status, api.body.error.code, api.body.error.details.limit]).toEqual([400, "VALIDATION_FAILED", 100]);
    const portal = await post("/keys?_data=routes/_portal.keys", { intent: "create", name: "one more", limitMode: "default" }, true);
    expect([portal.status, portal.body.error]).toEqual([400, "An organisation can have at most 100 active API keys: revoke one you no longer use first."]);

    const [oldest] = await sql<{ id: string }[]>`select id from api_keys where org_id = ${orgId} order by created_at limit 1`;
    await revokeApiKey({ orgId, keyId: oldest.id });
    expect((await post("/api/v1/keys", { name: "in its place" })).status).toBe(200);
    expect((await sql`select id from api_keys where org_id = ${orgId} and revoked_at is null`).length).toBe(MAX_ACTIVE_API_KEYS);
  }, 30_000);
});

describe("webhook endpoints per org", () => {
  test(`at most ${MAX_WEBHOOK_ENDPOINTS} endpoints, exactly, when 30 are created at once; refused by the API and the page`, async () => {
    const { orgId } = await orgWithKey();
    const created = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => endpoint(orgId, i)));
    expect(created.filter((c) => c.status === "fulfilled").length).toBe(MAX_WEBHOOK_ENDPOINTS);
    expect((await sql`select id from webhook_endpoints where org_id = ${orgId} and deleted_at is null`).length).toBe(MAX_WEBHOOK_ENDPOINTS);

    const post = await session(orgId);
    const api = await post("/api/v1/webhooks/endpoints", { url: "http://127.0.0.1:9/one-more", eventTypes: ["invoice.paid"] });
    expect([api.status, api.body.error.code, api.body.error.details.limit]).toEqual([400, "VALIDATION_FAILED", 16]);
    const portal = await post(
      "/webhooks?_data=routes/_portal.webhooks",
      { intent: "create", url: "http://127.0.0.1:9/one-more", eventTypes: "invoice.paid" },
      true,
    );
    expect([portal.status, portal.body.error]).toEqual([400, "An organisation can have at most 16 webhook endpoints: delete one you no longer use first."]);
  }, 30_000);
});
