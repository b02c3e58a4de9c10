// API keys: mk_live_/mk_test_ + 32 random base62 characters, shown once, stored as a SHA-256
// hash. Lookups are cached for at most KEY_CACHE_TTL_MS in process (and 3 s in Redis, deleted on
// revoke), so a revoked key fails everywhere within 5 s. The cached principal carries the key's
// rate limits (its own or the org's default) and when it stops being valid (its expiry, or the
// end of a rolled secret's grace), so neither costs a query. last_used_at is written in batches,
// off the request path.
import { and, desc, sql as dsql, eq } from "drizzle-orm";
import { appendAudit } from "../events/audit.server";
import { emitEvent } from "../events/outbox.server";
import { lockOrg, orgLimitReached } from "../orgs/orgs.server";
import { cacheDel, cacheGet, cacheSet } from "../platform/cache.server";
import { config } from "../platform/config.server";
import { db, hotSql, schema, sql, withinHotDeadline } from "../platform/db.server";
import { NotFound, Unauthenticated } from "../platform/errors.server";
import { log } from "../platform/log.server";
import type { KeyRateLimit } from "./rate-limits.server";

const KEY_SHAPE = /^mk_(live|test)_[A-Za-z0-9]{32}$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const REDIS_TTL_MS = 3000;

function randomBase62(length: number): string {
  const out: string[] = [];
  while (out.length < length) {
    for (const b of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (b < 248 && out.length < length) out.push(ALPHABET[b % 62]); // 248 = 4 × 62: no modulo bias
    }
  }
  return out.join("");
}

export const hashKey = (key: string) => Bun.CryptoHasher.hash("sha256", key, "hex");

/** A new plaintext key: its prefix, then 32 random base62 characters. */
export const newKeySecret = () => `${config.keyPrefix}${randomBase62(32)}`;

/**
 * Who a key is: its id and org, the rate limits it is held to (null: none, so the hot path
 * does nothing more) and when it stops being valid (ms since the epoch; null: never).
 */
export type KeyPrincipal = { keyId: string; orgId: string; rateLimits: KeyRateLimit[] | null; validUntil: number | null };
type CacheEntry = { principal: KeyPrincipal | null; until: number };

const local = new Map<string, CacheEntry>();
const inflight = new Map<string, Promise<KeyPrincipal | null>>();
const usedSinceFlush = new Set<string>();

/** Active (unrevoked) keys an org may hold: enough for every service and environment, not a runaway script's. */
export const MAX_ACTIVE_API_KEYS = 100;

export async function createApiKey(input: { orgId: string; name: string; rateLimits?: KeyRateLimit[] | null; expiresAt?: Date | null }) {
  const key = newKeySecret();
  const id = `key_${randomBase62(20)}`;
  const row = await db.transaction(async (tx) => {
    // The count and the insert under the org's lock: concurrent creations never pass the limit.
    await lockOrg(tx, input.orgId);
    const [{ active }] = await tx.execute<{ active: number }>(
      dsql`select count(*)::int as active from api_keys where org_id = ${input.orgId} and revoked_at is null`,
    );
    if (active >= MAX_ACTIVE_API_KEYS) throw orgLimitReached("active API keys", MAX_ACTIVE_API_KEYS, "revoke one you no longer use first.");
    const [inserted] = await tx
      .insert(schema.apiKeys)
      .values({
        id,
        orgId: input.orgId,
        name: input.name,
        prefix: key.slice(0, 12),
        hash: hashKey(key),
        rateLimits: input.rateLimits ?? null,
        expiresAt: input.expiresAt ?? null,
      })
      .returning();
    return inserted;
  });
  await appendAudit({
    orgId: input.orgId,
    action: "api_key.created",
    target: row.id,
    details: {
      name: row.name,
      ...(row.rateLimits ? { rateLimits: row.rateLimits } : {}),
      ...(row.expiresAt ? { expiresAt: row.expiresAt.toISOString() } : {}),
    },
  });
  await emitEvent({ orgId: input.orgId, type: "api_key.created", data: { keyId: row.id, name: row.name, prefix: row.prefix } });
  return { ...keyView(row), key };
}

/** A key as the API shows it: never its secret or hash. */
export function keyView(k: typeof schema.apiKeys.$inferSelect) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    rateLimits: k.rateLimits ?? null,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    previousSecretValidUntil: k.previousHash && k.previousHashUntil && k.previousHashUntil.getTime() > Date.now() ? k.previousHashUntil.toISOString() : null,
  };
}

export async function listApiKeys(orgId: string) {
  const rows = await db.select().from(schema.apiKeys).where(eq(schema.apiKeys.orgId, orgId)).orderBy(desc(schema.apiKeys.createdAt));
  return rows.map(keyView);
}

// What createApiKey makes (key_ + base62); anything else — a NUL, a stray byte — names no key.
export const KEY_ID = /^key_[A-Za-z0-9_]{1,64}$/;

/** Drops a key's cached lookups (this process at once, Redis too; other processes within KEY_CACHE_TTL_MS). */
export async function forgetKey(...hashes: (string | null)[]): Promise<void> {
  const known = hashes.filter((h): h is string => h !== null);
  for (const h of known) local.delete(h);
  await cacheDel(...known.map((h) => `key:${h}`));
}

/** Revokes a key; with orgId, only a key of that org (another org's key is NOT_FOUND). */
export async function revokeApiKey(input: { keyId: string; orgId?: string }) {
  if (!KEY_ID.test(input.keyId)) throw NotFound("API key");
  const where = input.orgId ? and(eq(schema.apiKeys.id, input.keyId), eq(schema.apiKeys.orgId, input.orgId)) : eq(schema.apiKeys.id, input.keyId);
  const [row] = await db
    .update(schema.apiKeys)
    .set({ revokedAt: dsql`coalesce(${schema.apiKeys.revokedAt}, now())` })
    .where(where)
    .returning({
      id: schema.apiKeys.id,
      orgId: schema.apiKeys.orgId,
      hash: schema.apiKeys.hash,
      previousHash: schema.apiKeys.previousHash,
      revokedAt: schema.apiKeys.revokedAt,
    });
  if (!row) throw NotFound("API key");
  await appendAudit({ orgId: row.orgId, action: "api_key.revoked", target: row.id });
  await emitEvent({ orgId: row.orgId, type: "api_key.revoked", data: { keyId: row.id }, dedupeKey: `api_key.revoked:${row.id}` });
  await forgetKey(row.hash, row.previousHash);
  return { id: row.id, revokedAt: row.revokedAt!.toISOString() };
}

async function lookup(hash: string): Promise<KeyPrincipal | null> {
  const cached = await cacheGet(`key:${hash}`);
  if (cached !== null) return JSON.parse(cached) as KeyPrincipal | null;
  // On the hot path (its pool and deadline), on a cache miss only. The key's own limits, else
  // the org's default; [] means none. A rolled key's old secret is valid until its grace ends.
  const [row] = await withinHotDeadline(
    hotSql<KeyPrincipal[]>`
      select k.id as "keyId", k.org_id as "orgId",
             nullif(coalesce(k.rate_limits, o.default_key_rate_limits), '[]'::jsonb) as "rateLimits",
             (extract(epoch from case when k.hash = ${hash} then k.expires_at else least(k.expires_at, k.previous_hash_until) end) * 1000)::float8 as "validUntil"
        from api_keys k join organisations o on o.id = k.org_id
       where (k.hash = ${hash} or k.previous_hash = ${hash})
         and k.revoked_at is null
       limit 1`,
  );
  const principal = row ?? null;
  cacheSet(`key:${hash}`, JSON.stringify(principal), REDIS_TTL_MS);
  return principal;
}

const BEARER = /^bearer /i;

/** The org behind `Authorization: Bearer mk_…`; UNAUTHENTICATED for anything else. */
export async function authenticateKey(authorization: string | null): Promise<KeyPrincipal> {
  // The scheme is case-insensitive (RFC 9110 §11.1): "bearer mk_…" is the same.
  const key = authorization && BEARER.test(authorization) ? authorization.slice(7).trim() : null;
  if (!key || !KEY_SHAPE.test(key)) throw Unauthenticated("Send an API key as Authorization: Bearer mk_….");
  const hash = hashKey(key);
  const now = Date.now();
  let entry = local.get(hash);
  if (!entry || entry.until <= now) {
    let pending = inflight.get(hash);
    if (!pending) {
      pending = lookup(hash).finally(() => inflight.delete(hash));
      inflight.set(hash, pending);
    }
    // Jittered (50–100% of the TTL), so keys first seen together do not all expire together.
    entry = { principal: await pending, until: now + config.KEY_CACHE_TTL_MS * (0.5 + Math.random() / 2) };
    if (local.size > 50_000) local.clear();
    local.set(hash, entry);
  }
  // An expired key, or a rolled key's old secret past its grace, is answered as a revoked key is.
  const p = entry.principal;
  if (!p || (p.validUntil !== null && p.validUntil <= now)) throw Unauthenticated("The API key is unknown or revoked.");
  usedSinceFlush.add(p.keyId);
  return p;
}

/** Writes last_used_at for the keys used since the previous flush (one statement). */
export async function flushKeyUsage(): Promise<void> {
  if (usedSinceFlush.size === 0) return;
  const ids = [...usedSinceFlush];
  usedSinceFlush.clear();
  await sql`update api_keys set last_used_at = now() where id = any(${ids}::text[])`;
}

const flusher = setInterval(() => {
  flushKeyUsage().catch((err) => log.warn({ err }, "could not record key last-used times"));
}, 5000);
flusher.unref?.();
