// Server-side sessions of the local dev sign-in. The cookie carries only a signed session id;
// the row decides whether it is still good, so signing out (one session) or revoking a person's
// sessions (all of them) ends them on the server for every app process at once. No cache: one
// primary-key read per request that uses a session (portal pages and session routes only; the
// API-key hot path never reads sessions).
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { appendAudit } from "../events/audit.server";
import { config } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { parseWith } from "../platform/errors.server";

export const SESSION_TTL_SECONDS = 7 * 24 * 3600;

/** A person's email as sessions and org owners store it. */
export const personEmail = z.string().trim().toLowerCase().email("Enter a valid email address.").max(254);

/** Whose sessions to revoke: the body of the admin route, the admin form, the ops command. */
export const revokeSessionsInput = z.object({ email: personEmail }).strict();

/**
 * Opens a session for `email` in `orgId` and returns its id. The same statement drops the
 * person's expired rows, so the table stays the size of the live sessions.
 */
export async function openSession(input: { email: string; orgId: string }): Promise<string> {
  const id = randomBytes(32).toString("base64url");
  await sql`
    with pruned as (delete from sessions where email = ${input.email} and expires_at < now())
    insert into sessions (id, email, org_id, expires_at)
    values (${id}, ${input.email}, ${input.orgId}, now() + make_interval(secs => ${SESSION_TTL_SECONDS}))`;
  return id;
}

/** The live session's owner and org: null when the id is unknown, revoked or expired. */
export async function liveSession(id: string): Promise<{ email: string; orgId: string } | null> {
  const [row] = await sql<{ email: string; org_id: string }[]>`
    select email, org_id from sessions where id = ${id} and revoked_at is null and expires_at > now()`;
  return row ? { email: row.email, orgId: row.org_id } : null;
}

/** Ends one session (sign-out). Idempotent. */
export async function revokeSession(id: string): Promise<void> {
  await sql`update sessions set revoked_at = now() where id = ${id} and revoked_at is null`;
}

/**
 * Ends every live session of a person, in every org ("sign out everywhere"). With Clerk, the
 * sign-in sessions are Clerk's: the answer says so, since there is nothing of ours to end.
 */
export async function revokeSessionsOf(input: { email: string }): Promise<{ email: string; revoked: number; note?: string }> {
  const { email } = parseWith(revokeSessionsInput, input);
  const rows = await sql`
    update sessions set revoked_at = now()
     where email = ${email} and revoked_at is null and expires_at > now()
    returning id`;
  await appendAudit({ orgId: null, action: "sessions.revoked_everywhere", target: email, details: { revoked: rows.length } });
  if (!config.CLERK_SECRET_KEY) return { email, revoked: rows.length };
  return {
    email,
    revoked: rows.length,
    note: "Sign-in sessions are Clerk's: revoke them in Clerk (dashboard or Backend API); its session tokens then expire within a minute.",
  };
}
