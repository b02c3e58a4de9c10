// Organisations: the only module that writes the `organisations` table. (The subscription
// mirror is billing/subscriptions.server.ts.)
import { sql as dsql, eq } from "drizzle-orm";
import { type Db, db, schema, type Tx } from "../platform/db.server";
import { AppError, NotFound } from "../platform/errors.server";

const ORG_ID = /^org_[A-Za-z0-9_-]{1,64}$/;

export async function createOrg(input: { id: string; name?: string; email?: string }) {
  if (!ORG_ID.test(input.id))
    throw new AppError("VALIDATION_FAILED", "An org id looks like org_ followed by 1–64 letters, digits, _ or -.", {
      issues: [{ path: "orgId", message: "invalid org id" }],
    });
  const [row] = await db
    .insert(schema.organisations)
    .values({ id: input.id, name: input.name ?? input.id, ownerEmail: input.email ?? null })
    .onConflictDoNothing()
    .returning();
  if (!row) throw new AppError("VALIDATION_FAILED", `Organisation ${input.id} already exists.`, { issues: [{ path: "orgId", message: "already exists" }] });
  return { id: row.id, name: row.name, createdAt: row.createdAt.toISOString() };
}

/**
 * The dev sign-in's claim on an org: creates it owned by `email`, or makes `email` the owner of
 * an org that has none, and answers the owner after the statement. One statement: of two
 * concurrent first sign-ins, the second waits on the row and sees the first one's owner.
 */
export async function claimOrg(input: { id: string; name: string; email: string }): Promise<{ ownerEmail: string }> {
  const [row] = await db
    .insert(schema.organisations)
    .values({ id: input.id, name: input.name, ownerEmail: input.email })
    .onConflictDoUpdate({ target: schema.organisations.id, set: { ownerEmail: dsql`coalesce(organisations.owner_email, excluded.owner_email)` } })
    .returning({ ownerEmail: schema.organisations.ownerEmail });
  return { ownerEmail: row.ownerEmail! };
}

export async function getOrg(orgId: string) {
  const [row] = await db.select().from(schema.organisations).where(eq(schema.organisations.id, orgId));
  if (!row) throw NotFound("Organisation");
  return row;
}

/**
 * Makes sure an org Clerk names exists here, owned by `ownerEmail`; an existing org is left as
 * it is.
 */
export async function ensureOrg(input: { id: string; name: string; ownerEmail: string | null }): Promise<void> {
  await db.insert(schema.organisations).values(input).onConflictDoNothing();
}

/** Records the org's Stripe customer and its test clock (billing creates them on first use). */
export async function setStripeCustomer(orgId: string, customerId: string, testClockId: string | null): Promise<void> {
  await db.update(schema.organisations).set({ stripeCustomerId: customerId, stripeTestClockId: testClockId }).where(eq(schema.organisations.id, orgId));
}

/** Notes that the org started a Checkout: the rollover job looks for its subscription often for a day (billing/reconcile.server.ts). */
export async function markCheckoutStarted(orgId: string): Promise<void> {
  await db.update(schema.organisations).set({ checkoutStartedAt: dsql`now()` }).where(eq(schema.organisations.id, orgId));
}

/** Notes that the rollover job has just asked Stripe about the org's live subscriptions. */
export async function markStripeChecked(orgId: string): Promise<void> {
  await db.update(schema.organisations).set({ stripeCheckedAt: dsql`now()` }).where(eq(schema.organisations.id, orgId));
}

/** Sets the org's time zone, inside the caller's transaction when it passes one. */
export async function setOrgTimeZone(orgId: string, timeZone: string, executor: Pick<Db, "update"> = db): Promise<void> {
  await executor.update(schema.organisations).set({ timeZone }).where(eq(schema.organisations.id, orgId));
}

/** Sets the rate limits of the org's keys that carry none of their own (null: no default), inside the caller's transaction when it passes one. */
export async function setOrgDefaultKeyRateLimits(
  orgId: string,
  rateLimits: { limit: number; windowSeconds: number }[] | null,
  executor: Pick<Db, "update"> = db,
): Promise<void> {
  await executor.update(schema.organisations).set({ defaultKeyRateLimits: rateLimits }).where(eq(schema.organisations.id, orgId));
}

/**
 * Holds the org's row for the rest of the transaction, so that counting the org's keys or
 * endpoints and inserting one more is a single step: two concurrent creations cannot both see
 * room for one. FOR NO KEY UPDATE leaves inserts of rows that reference the org unblocked.
 * NOT_FOUND when there is no such org.
 */
export async function lockOrg(tx: Tx, orgId: string): Promise<void> {
  const rows = await tx.execute(dsql`select id from organisations where id = ${orgId} for no key update`);
  if (rows.length === 0) throw NotFound("Organisation");
}

/** What an org already has `limit` of: VALIDATION_FAILED naming the limit (`details.limit`). */
export const orgLimitReached = (what: string, limit: number, advice: string) =>
  new AppError("VALIDATION_FAILED", `An organisation can have at most ${limit} ${what}: ${advice}`, {
    limit,
    issues: [{ path: "(root)", message: `at most ${limit} ${what} per organisation` }],
  });
