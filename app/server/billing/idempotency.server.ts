// Billing requests by idempotency key, one at a time per (org, key), in any number of processes:
// the first caller claims the key (inserts its billing_requests row first), does the work and
// stores its answer in that row; a caller of the same key meanwhile waits for that answer and
// replays it, and so does a retry later (a retried upgrade is a 200, not "already on that
// plan"). Like Stripe's, a key is remembered for 24 hours. A claim whose work failed is removed,
// so the next caller does the work itself; one left by a process that died is taken over once
// it is CLAIM_STALE_SECONDS old. No connection is held while the work runs.
// The same table holds each org's turn for changing its subscription (oneChangeAtATime): a row
// under a key no Idempotency-Key can be, so that changes under different keys run one at a time.
import { and, sql as dsql, eq } from "drizzle-orm";
import { db, schema, sql, type Tx } from "../platform/db.server";
import { AppError } from "../platform/errors.server";

/** How long a key's answer is replayed; after it, the key starts afresh (and the retention job deletes the row). */
export const REPLAY_WINDOW_HOURS = 24;
/** A claim this old has lost its process (no request runs this long): the next caller takes it over. */
export const CLAIM_STALE_SECONDS = 300;
/** How long a caller waits for another's answer: under Bun's 10 s idle timeout of a request. */
const WAIT_MS = 8_000;
const POLL_MS = 40;

type Marker = { $claim: string };
const isClaim = (response: unknown): boolean => typeof response === "object" && response !== null && "$claim" in response;

export type KeyedRequest = {
  orgId: string;
  key: string;
  /** What the key is for (an upgrade's plan): the same key for anything else is IDEMPOTENCY_CONFLICT. */
  scope: string;
  /** What to tell a caller whose key was used for another scope (default: another plan). */
  conflict?: string;
};

/** Claims the key, or answers the stored answer of the request that claimed it first (waiting for it). */
async function claimOrReplay(req: KeyedRequest): Promise<{ claim: Marker } | { replay: unknown }> {
  const claim: Marker = { $claim: crypto.randomUUID() };
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const won = await sql`
      insert into billing_requests (org_id, idempotency_key, plan_code, response, created_at)
      values (${req.orgId}, ${req.key}, ${req.scope}, ${JSON.stringify(claim)}::jsonb, now())
      on conflict (org_id, idempotency_key) do update
         set plan_code = excluded.plan_code, response = excluded.response, created_at = excluded.created_at
       where billing_requests.created_at <= now() - make_interval(hours => ${REPLAY_WINDOW_HOURS})
          or (billing_requests.response ? '$claim' and billing_requests.plan_code = excluded.plan_code
              and billing_requests.created_at <= now() - make_interval(secs => ${CLAIM_STALE_SECONDS}))
      returning 1`;
    if (won.length > 0) return { claim };
    const [row] = await sql<{ plan_code: string; response: unknown; fresh: boolean }[]>`
      select plan_code, response, created_at > now() - make_interval(hours => ${REPLAY_WINDOW_HOURS}) as fresh
        from billing_requests where org_id = ${req.orgId} and idempotency_key = ${req.key}`;
    if (row?.fresh) {
      if (row.plan_code !== req.scope)
        throw new AppError(
          "IDEMPOTENCY_CONFLICT",
          req.conflict ?? "This Idempotency-Key was already used for a change to another plan.",
          // The other plan's code for a plan change; another use's scope is this server's own wording.
          req.conflict ? {} : { planCode: row.plan_code },
        );
      if (!isClaim(row.response)) return { replay: row.response };
      if (Date.now() > deadline)
        throw new AppError(
          "UPSTREAM_UNAVAILABLE",
          "A request with this Idempotency-Key is still being processed; retry in a moment with the same key.",
          {},
          { "retry-after": "1" },
        );
      await Bun.sleep(POLL_MS);
    }
    // No row (its claim was just released) or an expired one: claim it on the next pass.
  }
}

const ownRow = (req: KeyedRequest, claim: Marker) =>
  and(
    eq(schema.billingRequests.orgId, req.orgId),
    eq(schema.billingRequests.idempotencyKey, req.key),
    dsql`${schema.billingRequests.response} = ${JSON.stringify(claim)}::jsonb`,
  );

/**
 * Runs `work` once for the key and answers what it answered; a concurrent or later caller with
 * the same key gets that answer (as stored JSON) without running it. `record` runs in the
 * transaction that stores the answer, by the one caller that stores it: an append-only entry
 * written there is written once per key.
 */
export async function oncePerKey<T>(req: KeyedRequest, work: () => Promise<T>, record?: (tx: Tx, answer: T) => Promise<void>): Promise<T> {
  const claimed = await claimOrReplay(req);
  if ("replay" in claimed) return claimed.replay as T;
  const { claim } = claimed;
  try {
    const answer = await work();
    await db.transaction(async (tx) => {
      const stored = await tx
        .update(schema.billingRequests)
        .set({ response: answer, createdAt: dsql`now()` })
        .where(ownRow(req, claim))
        .returning({ key: schema.billingRequests.idempotencyKey });
      // Taken over meanwhile (this took longer than CLAIM_STALE_SECONDS): the taker records it.
      if (stored.length > 0 && record) await record(tx, answer);
    });
    return answer;
  } catch (err) {
    // Unclaimed, the next caller does the work (Stripe replays what this one sent it).
    await db
      .delete(schema.billingRequests)
      .where(ownRow(req, claim))
      .catch(() => {});
    throw err;
  }
}

/** The key of an org's turn to change its subscription: `$` is outside every Idempotency-Key's alphabet. */
const CHANGE_TURN_KEY = "$subscription-change";
/** A turn this old has lost its process (a change answers within its Stripe deadline): the next caller takes it over. */
const CHANGE_TURN_STALE_SECONDS = 60;

/**
 * Runs `work` as the org's only subscription change in flight, in any number of processes. An
 * upgrade, a downgrade or the withdrawal of either reads the subscription, then changes it at
 * Stripe; two at once (two tabs, two API clients, each under its own Idempotency-Key) read the
 * same plan and both changed it: the second added the new plan's items again and Stripe refused
 * it (a 500), or both scheduled and both answered. One after the other, each reads what the one
 * before left: the second upgrade to a plan is "already on it", the second withdrawal "nothing
 * scheduled". A caller waits up to WAIT_MS for its turn, then is asked to retry (503).
 */
export async function oneChangeAtATime<T>(orgId: string, work: () => Promise<T>): Promise<T> {
  const turn = JSON.stringify({ $claim: crypto.randomUUID() });
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const won = await sql`
      insert into billing_requests (org_id, idempotency_key, plan_code, response, created_at)
      values (${orgId}, ${CHANGE_TURN_KEY}, ${CHANGE_TURN_KEY}, ${turn}::jsonb, now())
      on conflict (org_id, idempotency_key) do update
         set response = excluded.response, created_at = excluded.created_at
       where billing_requests.created_at <= now() - make_interval(secs => ${CHANGE_TURN_STALE_SECONDS})
      returning 1`;
    if (won.length > 0) break;
    if (Date.now() > deadline)
      throw new AppError("UPSTREAM_UNAVAILABLE", "Another change to this subscription is still being made; retry in a moment.", {}, { "retry-after": "1" });
    await Bun.sleep(POLL_MS);
  }
  try {
    return await work();
  } finally {
    await sql`delete from billing_requests where org_id = ${orgId} and idempotency_key = ${CHANGE_TURN_KEY} and response = ${turn}::jsonb`.catch(() => {});
  }
}
