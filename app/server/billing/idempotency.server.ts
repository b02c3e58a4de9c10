// Plan changes by idempotency key: the first success is remembered, and a retry with the same
// key answers it again (a retried upgrade is a 200, not "already on that plan"). Like Stripe's,
// a key is remembered for 24 hours.
import { and, eq, gt, sql } from "drizzle-orm";
import { db, schema } from "../platform/db.server";
import { AppError } from "../platform/errors.server";

export async function replayOf(orgId: string, key: string, planCode: string): Promise<unknown | null> {
  const [row] = await db
    .select()
    .from(schema.billingRequests)
    .where(
      and(
        eq(schema.billingRequests.orgId, orgId),
        eq(schema.billingRequests.idempotencyKey, key),
        gt(schema.billingRequests.createdAt, sql`now() - interval '24 hours'`),
      ),
    );
  if (!row) return null;
  if (row.planCode !== planCode)
    throw new AppError("IDEMPOTENCY_CONFLICT", "This Idempotency-Key was already used for a change to another plan.", { planCode: row.planCode });
  return row.response;
}

export async function remember(orgId: string, key: string, planCode: string, response: unknown): Promise<void> {
  await db
    .insert(schema.billingRequests)
    .values({ orgId, idempotencyKey: key, planCode, response })
    .onConflictDoUpdate({ target: [schema.billingRequests.orgId, schema.billingRequests.idempotencyKey], set: { planCode, response, createdAt: new Date() } });
}
