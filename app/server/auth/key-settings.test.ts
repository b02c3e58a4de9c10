// A key's life after creation, in process: rate limits (its own, the org's default, none), a
// roll whose old secret stops after the grace period, an expiry answered as a revocation, a
// rename, and an audit entry for each change. Without Redis, the limit is this process's share.
import { describe, expect, test } from "bun:test";
import { orgWithKey } from "../../../test/factories";
import { sql } from "../platform/db.server";
import { rollApiKey, setDefaultKeyRateLimits, updateApiKey } from "./key-settings.server";
import { authenticateKey, createApiKey } from "./keys.server";
import { localShare, takeRateLimits } from "./rate-limits.server";

const bearer = (key: string) => `Bearer ${key}`;
const refusal = (key: string) =>
  authenticateKey(bearer(key)).then(
    () => null,
    (e: { code: string; message: string }) => `${e.code}: ${e.message}`,
  );
const REVOKED = "UNAUTHENTICATED: The API key is unknown or revoked.";

async function auditOf(orgId: string) {
  return sql<{ action: string; target: string | null; details: Record<string, unknown> }[]>`
    select action, target, details from audit_log where org_id = ${orgId} order by id`;
}

describe("rate limits on the principal", () => {
  test("a key without limits, and no org default, carries none: the hot path does nothing more", async () => {
    const { key } = await orgWithKey();
    expect((await authenticateKey(bearer(key))).rateLimits).toBeNull();
  });

  test("a key's own limits, else the org's default; [] means none whatever the default", async () => {
    const { orgId, key, keyId } = await orgWithKey();
    const own = await createApiKey({ orgId, name: "own", rateLimits: [{ limit: 7, windowSeconds: 60 }] });
    const none = await createApiKey({ orgId, name: "none", rateLimits: [] });
    await setDefaultKeyRateLimits({ orgId, rateLimits: [{ limit: 100, windowSeconds: 1 }] });
    expect((await authenticateKey(bearer(key))).rateLimits).toEqual([{ limit: 100, windowSeconds: 1 }]);
    expect((await authenticateKey(bearer(own.key))).rateLimits).toEqual([{ limit: 7, windowSeconds: 60 }]);
    expect((await authenticateKey(bearer(none.key))).rateLimits).toBeNull();
    await updateApiKey({ orgId, keyId, changes: { rateLimits: [{ limit: 3, windowSeconds: 10 }] } });
    expect((await authenticateKey(bearer(key))).rateLimits).toEqual([{ limit: 3, windowSeconds: 10 }]);
    await setDefaultKeyRateLimits({ orgId, rateLimits: null });
    await updateApiKey({ orgId, keyId, changes: { rateLimits: null } });
    expect((await authenticateKey(bearer(key))).rateLimits).toBeNull();
    const actions = (await auditOf(orgId)).map((a) => a.action);
    expect(actions.filter((a) => a === "api_key.default_rate_limits_updated")).toHaveLength(2);
    expect(actions.filter((a) => a === "api_key.updated")).toHaveLength(2);
  });

  test("without Redis a process admits its share of each window, refuses the rest with Retry-After, and a refusal takes no place", async () => {
    const take = (limits: { limit: number; windowSeconds: number }[], n: number) =>
      Promise.all(
        Array.from({ length: n }, () =>
          takeRateLimits("key_local_test", limits).then(
            () => "ok",
            (e) => e,
          ),
        ),
      );
    const hourly = { limit: 6, windowSeconds: 3600 };
    const twoHourly = { limit: 8, windowSeconds: 7200 };
    const outcomes = await take([hourly, twoHourly], 20);
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(localShare(6));
    const refused = outcomes.find((o) => o !== "ok") as { code: string; status: number; headers: Record<string, string>; details: Record<string, number> };
    expect(refused.code).toBe("RATE_LIMITED");
    expect(refused.status).toBe(429);
    expect(refused.details).toMatchObject({ limit: 6, windowSeconds: 3600 });
    expect(Number(refused.headers["Retry-After"])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers["Retry-After"])).toBeLessThanOrEqual(3600);
    // The refused 14 took no place in the two-hour window: with the hourly limit raised, it still
    // has exactly its share minus the admitted ones.
    const more = await take([{ limit: 1000, windowSeconds: 3600 }, twoHourly], 20);
    expect(more.filter((o) => o === "ok")).toHaveLength(localShare(8) - localShare(6));
  });
});

describe("lifecycle", () => {
  test("a rolled key: the new secret works, the old one until the grace period ends, then is refused as revoked", async () => {
    const { orgId, key, keyId } = await orgWithKey();
    expect((await authenticateKey(bearer(key))).keyId).toBe(keyId);
    const rolled = await rollApiKey({ orgId, keyId, graceSeconds: 1 });
    expect(rolled.id).toBe(keyId);
    expect(rolled.key).not.toBe(key);
    expect(rolled.prefix).toBe(rolled.key.slice(0, 12));
    expect(Date.parse(rolled.previousSecretValidUntil!)).toBeGreaterThan(Date.now());
    expect((await authenticateKey(bearer(rolled.key))).keyId).toBe(keyId);
    expect((await authenticateKey(bearer(key))).keyId).toBe(keyId);
    await Bun.sleep(Date.parse(rolled.previousSecretValidUntil!) - Date.now() + 20);
    expect(await refusal(key)).toBe(REVOKED);
    expect((await authenticateKey(bearer(rolled.key))).keyId).toBe(keyId);
    const [entry] = (await auditOf(orgId)).filter((a) => a.action === "api_key.rolled");
    expect(entry.target).toBe(keyId);
    expect(entry.details.previousSecretValidUntil).toBe(rolled.previousSecretValidUntil);
    expect(JSON.stringify(entry.details)).not.toContain(rolled.key);
  });

  test("a second roll stops the first roll's old secret at once; grace 0 stops the replaced one at once", async () => {
    const { orgId, key, keyId } = await orgWithKey();
    const first = await rollApiKey({ orgId, keyId, graceSeconds: 3600 });
    const second = await rollApiKey({ orgId, keyId, graceSeconds: 0 });
    expect(await refusal(key)).toBe(REVOKED);
    expect(await refusal(first.key)).toBe(REVOKED);
    expect((await authenticateKey(bearer(second.key))).keyId).toBe(keyId);
  });

  test("an expired key is refused with the same answer as a revoked one", async () => {
    const { orgId } = await orgWithKey();
    const soon = await createApiKey({ orgId, name: "short-lived", expiresAt: new Date(Date.now() + 300) });
    expect((await authenticateKey(bearer(soon.key))).keyId).toBe(soon.id);
    await Bun.sleep(350);
    expect(await refusal(soon.key)).toBe(REVOKED);
    expect(await refusal("mk_test_0000000000000000000000000000000A")).toBe(REVOKED);
    // Moving the expiry out brings it back; the change is audit-logged with before and after.
    await updateApiKey({ orgId, keyId: soon.id, changes: { expiresAt: new Date(Date.now() + 60_000) } });
    expect((await authenticateKey(bearer(soon.key))).keyId).toBe(soon.id);
    const entry = (await auditOf(orgId)).find((a) => a.action === "api_key.updated")!;
    expect((entry.details.expiresAt as string[])[0]).toBe(soon.expiresAt!);
  });

  test("a rename is audit-logged as one; a revoked key or another org's key cannot be changed or rolled", async () => {
    const { orgId, keyId } = await orgWithKey();
    const other = await orgWithKey();
    const renamed = await updateApiKey({ orgId, keyId, changes: { name: "ci runner" } });
    expect(renamed.name).toBe("ci runner");
    const entry = (await auditOf(orgId)).find((a) => a.action === "api_key.renamed")!;
    expect(entry.details).toEqual({ name: ["test", "ci runner"] });
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => "ok",
        (e: { code: string }) => e.code,
      );
    expect(await codeOf(updateApiKey({ orgId: other.orgId, keyId, changes: { name: "x" } }))).toBe("NOT_FOUND");
    expect(await codeOf(rollApiKey({ orgId: other.orgId, keyId, graceSeconds: 0 }))).toBe("NOT_FOUND");
    await sql`update api_keys set revoked_at = now() where id = ${keyId}`;
    expect(await codeOf(rollApiKey({ orgId, keyId, graceSeconds: 0 }))).toBe("NOT_FOUND");
    expect(await codeOf(updateApiKey({ orgId, keyId, changes: { name: "y" } }))).toBe("NOT_FOUND");
  });
});
