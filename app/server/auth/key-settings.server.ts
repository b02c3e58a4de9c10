// What an org admin changes on a key after creating it: its name, rate limits and expiry, a roll
// (a new secret, the old one still accepted for a grace period), and the org's default rate
// limits for keys that carry none. Each change is audit-logged and drops the key's cached lookups
// here and in Redis; other app processes see it within KEY_CACHE_TTL_MS.
import { and, eq } from "drizzle-orm";
import { appendAudit } from "../events/audit.server";
import { setOrgDefaultKeyRateLimits } from "../orgs/orgs.server";
import { db, schema } from "../platform/db.server";
import { AppError, NotFound } from "../platform/errors.server";
import { forgetKey, hashKey, KEY_ID, keyView, newKeySecret } from "./keys.server";
import type { KeyRateLimit } from "./rate-limits.server";

/** How long a rolled key's old secret stays valid unless the roll says otherwise: 24 hours. */
export const DEFAULT_ROLL_GRACE_SECONDS = 86_400;

const notActive = () => new AppError("NOT_FOUND", "API key not found, or revoked.");

/** The org's key that is not revoked, locked for the change (another org's key is NOT_FOUND). */
async function activeKeyForUpdate(tx: Parameters<Parameters<typeof db.transaction>[0]>[0], orgId: string, keyId: string) {
  if (!KEY_ID.test(keyId)) throw NotFound("API key");
  const [row] = await tx
    .select()
    .from(schema.apiKeys)
    .where(and(eq(schema.apiKeys.id, keyId), eq(schema.apiKeys.orgId, orgId)))
    .for("update");
  if (!row) throw NotFound("API key");
  if (row.revokedAt) throw notActive();
  return row;
}

/** NOT_FOUND unless the key is the org's (revoked or not): what a route on one key checks before reading its body. */
export async function requireOrgKey(orgId: string, keyId: string | undefined): Promise<void> {
  if (!keyId || !KEY_ID.test(keyId)) throw NotFound("API key");
  const [row] = await db
    .select({ id: schema.apiKeys.id })
    .from(schema.apiKeys)
    .where(and(eq(schema.apiKeys.id, keyId), eq(schema.apiKeys.orgId, orgId)));
  if (!row) throw NotFound("API key");
}

export type KeyChanges = { name?: string; rateLimits?: KeyRateLimit[] | null; expiresAt?: Date | null };

/** Renames a key, sets or clears its own rate limits (null: the org's default) and its expiry. */
export async function updateApiKey(input: { orgId: string; keyId: string; changes: KeyChanges }) {
  const { changes } = input;
  const row = await db.transaction(async (tx) => {
    const before = await activeKeyForUpdate(tx, input.orgId, input.keyId);
    const [after] = await tx.update(schema.apiKeys).set(changes).where(eq(schema.apiKeys.id, before.id)).returning();
    const details: Record<string, unknown> = {};
    if (changes.name !== undefined) details.name = [before.name, after.name];
    if (changes.rateLimits !== undefined) details.rateLimits = [before.rateLimits, after.rateLimits];
    if (changes.expiresAt !== undefined) details.expiresAt = [before.expiresAt?.toISOString() ?? null, after.expiresAt?.toISOString() ?? null];
    const action = Object.keys(details).length === 1 && details.name ? "api_key.renamed" : "api_key.updated";
    await appendAudit({ orgId: input.orgId, action, target: before.id, details }, tx);
    return after;
  });
  await forgetKey(row.hash, row.previousHash);
  return keyView(row);
}

/**
 * Gives a key a new secret (answered once). The old secret stays valid for `graceSeconds`
 * (0: stops at once); a secret replaced by an earlier roll stops now.
 */
export async function rollApiKey(input: { orgId: string; keyId: string; graceSeconds: number }) {
  const key = newKeySecret();
  const { row, replaced } = await db.transaction(async (tx) => {
    const before = await activeKeyForUpdate(tx, input.orgId, input.keyId);
    const until = new Date(Date.now() + input.graceSeconds * 1000);
    const [after] = await tx
      .update(schema.apiKeys)
      .set({ hash: hashKey(key), prefix: key.slice(0, 12), previousHash: before.hash, previousHashUntil: until })
      .where(eq(schema.apiKeys.id, before.id))
      .returning();
    await appendAudit(
      {
        orgId: input.orgId,
        action: "api_key.rolled",
        target: before.id,
        details: { previousPrefix: before.prefix, prefix: after.prefix, previousSecretValidUntil: until.toISOString() },
      },
      tx,
    );
    return { row: after, replaced: [before.hash, before.previousHash] };
  });
  await forgetKey(...replaced);
  return { ...keyView(row), key };
}

/** The rate limits of the org's keys that carry none of their own (null: no default). */
export async function defaultKeyRateLimits(orgId: string): Promise<KeyRateLimit[] | null> {
  const [row] = await db.select({ limits: schema.organisations.defaultKeyRateLimits }).from(schema.organisations).where(eq(schema.organisations.id, orgId));
  if (!row) throw NotFound("Organisation");
  return row.limits ?? null;
}

export async function setDefaultKeyRateLimits(input: { orgId: string; rateLimits: KeyRateLimit[] | null }) {
  const keys = await db.transaction(async (tx) => {
    const [before] = await tx
      .select({ limits: schema.organisations.defaultKeyRateLimits })
      .from(schema.organisations)
      .where(eq(schema.organisations.id, input.orgId))
      .for("update");
    if (!before) throw NotFound("Organisation");
    await setOrgDefaultKeyRateLimits(input.orgId, input.rateLimits, tx);
    await appendAudit(
      { orgId: input.orgId, action: "api_key.default_rate_limits_updated", details: { rateLimits: [before.limits ?? null, input.rateLimits] } },
      tx,
    );
    return tx
      .select({ hash: schema.apiKeys.hash, previousHash: schema.apiKeys.previousHash })
      .from(schema.apiKeys)
      .where(eq(schema.apiKeys.orgId, input.orgId));
  });
  await forgetKey(...keys.flatMap((k) => [k.hash, k.previousHash]));
  return { rateLimits: input.rateLimits };
}
