// API keys: mk_live_/mk_test_ + 32 random base62 characters, shown once, stored as a SHA-256
// hash. Lookups are cached for at most KEY_CACHE_TTL_MS in process (and 3 s in Redis, deleted on
// revoke), so a revoked key fails everywhere within 5 s. last_used_at is written in batches,
// off the request path.
import { and, desc, sql as dsql, eq } from "drizzle-orm";
import { appendAudit } from "../events/audit.server";
import { emitEvent } from "../events/outbox.server";
import { cacheDel, cacheGet, cacheSet } from "../platform/cache.server";
import { config } from "../platform/config.server";
import { db, hotSql, schema, sql, withinHotDeadline } from "../platform/db.server";
import { NotFound, Unauthenticated } from "../platform/errors.server";
import { log } from "../platform/log.server";

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

const hashKey = (key: string) => Bun.CryptoHasher.hash("sha256", key, "hex");

export type KeyPrincipal = { keyId: string; orgId: string };
type CacheEntry = { principal: KeyPrincipal | null; until: number };

const local = new Map<string, CacheEntry>();
const inflight = new Map<string, Promise<KeyPrincipal | null>>();
const usedSinceFlush = new Set<string>();

// The Postgres error code behind a failed query (drizzle wraps the driver's error as its cause).
const pgCode = (err: unknown): string | undefined => {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 3; e = e.cause as typeof e, depth++)
    if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  return undefined;
};

export async function createApiKey(input: { orgId: string; name: string }) {
  const key = `${config.keyPrefix}${randomBase62(32)}`;
  const id = `key_${randomBase62(20)}`;
  const [row] = await db
    .insert(schema.apiKeys)
    .values({ id, orgId: input.orgId, name: input.name, prefix: key.slice(0, 12), hash: hashKey(key) })
    .returning()
    .catch((err) => {
      // The org reference is the only foreign key: a missing org is NOT_FOUND. The failed-query
      // error itself is not passed on, as its text carries the statement with the key's hash and prefix.
      if (pgCode(err) === "23503") throw NotFound("Organisation");
      throw err;
    });
  await appendAudit({ orgId: input.orgId, action: "api_key.created", target: row.id, details: { name: row.name } });
  await emitEvent({ orgId: input.orgId, type: "api_key.created", data: { keyId: row.id, name: row.name, prefix: row.prefix } });
  return { id: row.id, key, name: row.name, prefix: row.prefix, createdAt: row.createdAt.toISOString() };
}

export async function listApiKeys(orgId: string) {
  const rows = await db.select().from(schema.apiKeys).where(eq(schema.apiKeys.orgId, orgId)).orderBy(desc(schema.apiKeys.createdAt));
  return rows.map((k) => ({
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  }));
}

/** Revokes a key; with orgId, only a key of that org (another org's key is NOT_FOUND). */
// What createApiKey makes (key_ + base62); anything else — a NUL, a stray byte — names no key.
const KEY_ID = /^key_[A-Za-z0-9_]{1,64}$/;

export async function revokeApiKey(input: { keyId: string; orgId?: string }) {
  if (!KEY_ID.test(input.keyId)) throw NotFound("API key");
  const where = input.orgId ? and(eq(schema.apiKeys.id, input.keyId), eq(schema.apiKeys.orgId, input.orgId)) : eq(schema.apiKeys.id, input.keyId);
  const [row] = await db
    .update(schema.apiKeys)
    .set({ revokedAt: dsql`coalesce(${schema.apiKeys.revokedAt}, now())` })
    .where(where)
    .returning({ id: schema.apiKeys.id, orgId: schema.apiKeys.orgId, hash: schema.apiKeys.hash, revokedAt: schema.apiKeys.revokedAt });
  if (!row) throw NotFound("API key");
  await appendAudit({ orgId: row.orgId, action: "api_key.revoked", target: row.id });
  await emitEvent({ orgId: row.orgId, type: "api_key.revoked", data: { keyId: row.id }, dedupeKey: `api_key.revoked:${row.id}` });
  local.delete(row.hash);
  await cacheDel(`key:${row.hash}`);
  return { id: row.id, revokedAt: row.revokedAt!.toISOString() };
}

async function lookup(hash: string): Promise<KeyPrincipal | null> {
  const cached = await cacheGet(`key:${hash}`);
  if (cached !== null) return JSON.parse(cached) as KeyPrincipal | null;
  // On the hot path (its pool and deadline).
  const [row] = await withinHotDeadline(
    hotSql<KeyPrincipal[]>`select id as "keyId", org_id as "orgId" from api_keys where hash = ${hash} and revoked_at is null limit 1`,
  );
  const principal = row ?? null;
  cacheSet(`key:${hash}`, JSON.stringify(principal), REDIS_TTL_MS);
  return principal;
}

/** The org behind `Authorization: Bearer mk_…`; UNAUTHENTICATED for anything else. */
export async function authenticateKey(authorization: string | null): Promise<KeyPrincipal> {
  const key = authorization?.startsWith("Bearer ") ? authorization.slice(7).trim() : null;
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
  if (!entry.principal) throw Unauthenticated("The API key is unknown or revoked.");
  usedSinceFlush.add(entry.principal.keyId);
  return entry.principal;
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
