// Clerk's webhooks (Svix-signed, verified on the raw body with the `svix` package):
// organization.deleted revokes the org's API keys and lists the org for an operator (its Stripe
// subscription is not canceled silently); membership changes are recorded so they apply from the
// next request, not at the next token refresh.
import { Webhook } from "svix";
import { z } from "zod";
import { config } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { AppError } from "../platform/errors.server";
import { log } from "../platform/log.server";
import { listApiKeys, revokeApiKey } from "./keys.server";

const membership = z.object({
  organization: z.object({ id: z.string() }),
  public_user_data: z.object({ user_id: z.string() }),
  role: z.string().optional(),
  updated_at: z.number().optional(),
});
const event = z.discriminatedUnion("type", [
  z.object({ type: z.literal("organization.deleted"), data: z.object({ id: z.string() }) }),
  z.object({ type: z.enum(["organizationMembership.created", "organizationMembership.updated", "organizationMembership.deleted"]), data: membership }),
]);

export type ClerkWebhookResult = { type: string; handled: boolean };

/** Verifies and applies one delivery; an unverifiable one is a 400 and changes nothing. */
export async function receiveClerkWebhook(rawBody: string, headers: Headers): Promise<ClerkWebhookResult> {
  const secret = config.CLERK_WEBHOOK_SECRET;
  if (!secret) throw new AppError("NOT_FOUND", "Clerk webhooks are not configured (CLERK_WEBHOOK_SECRET).");
  const svixId = headers.get("svix-id") ?? "";
  try {
    new Webhook(secret).verify(rawBody, {
      "svix-id": svixId,
      "svix-timestamp": headers.get("svix-timestamp") ?? "",
      "svix-signature": headers.get("svix-signature") ?? "",
    });
  } catch {
    throw new AppError("VALIDATION_FAILED", "Invalid or expired Svix signature.");
  }
  // Signed is not well-formed: a body that is not a JSON object with a type is refused, not a 500.
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    throw new AppError("VALIDATION_FAILED", "A Clerk event must be JSON.");
  }
  const typed = z.object({ type: z.string() }).safeParse(body);
  if (!typed.success) throw new AppError("VALIDATION_FAILED", "A Clerk event must be a JSON object with a type.");
  const type = typed.data.type;
  const parsed = event.safeParse(body);
  if (!parsed.success) return { type, handled: false }; // an event this system does not use
  const e = parsed.data;
  if (e.type === "organization.deleted") {
    await orgDeleted(e.data.id, svixId);
  } else {
    const d = e.data;
    const role = e.type === "organizationMembership.deleted" ? null : (d.role ?? null);
    const changedAt = new Date(d.updated_at ?? Date.now());
    await sql`
      insert into clerk_memberships (org_id, user_id, role, changed_at)
      values (${d.organization.id}, ${d.public_user_data.user_id}, ${role}, ${changedAt.toISOString()}::timestamptz)
      on conflict (org_id, user_id) do update set role = excluded.role, changed_at = excluded.changed_at
       where clerk_memberships.changed_at <= excluded.changed_at`;
  }
  return { type, handled: true };
}

async function orgDeleted(orgId: string, eventId: string): Promise<void> {
  const live = (await listApiKeys(orgId)).filter((k) => !k.revokedAt);
  for (const k of live) await revokeApiKey({ keyId: k.id, orgId });
  await sql`
    insert into clerk_org_deletions (org_id, event_id, keys_revoked)
    values (${orgId}, ${eventId}, ${live.length})
    on conflict (org_id) do update set keys_revoked = clerk_org_deletions.keys_revoked + excluded.keys_revoked`;
  log.warn({ orgId, keys_revoked: live.length }, "organisation deleted in Clerk: keys revoked; its subscription waits for an operator (/admin)");
}

/** A membership change newer than the session token: its role (null = removed) wins. */
export async function membershipChangeSince(orgId: string, userId: string, tokenIssuedAt: Date): Promise<{ role: string | null } | null> {
  const [row] = await sql<{ role: string | null }[]>`
    select role from clerk_memberships where org_id = ${orgId} and user_id = ${userId} and changed_at > ${tokenIssuedAt.toISOString()}::timestamptz`;
  return row ?? null;
}

/** What /admin lists: orgs deleted in Clerk that an operator has not handled yet. */
export function pendingOrgDeletions() {
  return sql<{ org_id: string; keys_revoked: number; deleted_at: string; plan_code: string | null; status: string | null }[]>`
    select d.org_id, d.keys_revoked, d.deleted_at::text, s.plan_code, s.status
      from clerk_org_deletions d left join subscriptions s on s.org_id = d.org_id
     where d.handled_at is null order by d.deleted_at desc limit 50`;
}
