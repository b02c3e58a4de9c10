// How far an org has come with its API keys, for the dashboard's first-run checklist: whether it
// ever made one, and when one was first used (last_used_at, written in batches a few seconds
// after the call; see keys.server.ts).
import { sql as dsql, eq } from "drizzle-orm";
import { db, schema } from "../platform/db.server";

export async function keyActivity(orgId: string): Promise<{ keys: number; used: boolean }> {
  const [row] = await db
    .select({ keys: dsql<number>`count(*)::int`, used: dsql<boolean>`bool_or(${schema.apiKeys.lastUsedAt} is not null)` })
    .from(schema.apiKeys)
    .where(eq(schema.apiKeys.orgId, orgId));
  return { keys: row?.keys ?? 0, used: Boolean(row?.used) };
}
