// The audit log: who did what, for which org, when and in which request. Append-only (the
// database refuses updates and deletes); written in the same transaction as the change when
// the caller has one.
import { desc, eq } from "drizzle-orm";
import { db, schema } from "../platform/db.server";
import { currentRequest } from "../platform/request-context.server";

export type AuditEntry = {
  orgId: string | null;
  actor?: string; // default: the signed-in person of the current request, else `system`
  action: string;
  target?: string | null;
  details?: Record<string, unknown>;
  requestId?: string | null;
};

export async function appendAudit(entry: AuditEntry, executor: Pick<typeof db, "insert"> = db): Promise<void> {
  await executor.insert(schema.auditLog).values({
    orgId: entry.orgId,
    actor: entry.actor ?? currentRequest()?.actor ?? "system",
    action: entry.action,
    target: entry.target ?? null,
    details: entry.details ?? {},
    requestId: entry.requestId ?? currentRequest()?.requestId ?? null,
  });
}

/** The newest entries of one org, or of every org (orgId null: the admin page). */
export async function listAudit(input: { orgId: string | null; limit?: number }) {
  const q = db.select().from(schema.auditLog);
  const rows = await (input.orgId ? q.where(eq(schema.auditLog.orgId, input.orgId)) : q).orderBy(desc(schema.auditLog.at)).limit(input.limit ?? 50);
  return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
}
