// Prepaid credits granted (db/schema-credits.ts): a grant is written once per paying Stripe object
// (its `source_id` is unique), by whichever of the three roads gets there first — the top-up
// request's own synchronous answer from Stripe, the invoice's webhook (`invoice.paid`), or the
// Checkout Session's (`checkout.session.completed` paid, or `async_payment_succeeded` for a
// payment that confirms later). The others find the row and change
// nothing; `credits.granted` is emitted by the one insert that wrote it, in its transaction.
// Spending credits is the admission's (the usage engine), never this module's.
import { and, desc, sql as dsql, eq, gt } from "drizzle-orm";
import { appendAudit } from "../events/audit.server";
import { emitEvent } from "../events/outbox.server";
import { db, schema, type Tx } from "../platform/db.server";

/** How long bought credits last: 12 months after the grant (the moment Stripe's payment reached us). */
export const CREDIT_LIFETIME_MONTHS = 12;

export type GrantSource = "top_up" | "auto_top_up";

export type CreditGrant = {
  id: string;
  metric: string;
  units: number;
  remaining: number;
  source: string;
  sourceId: string;
  amountCents: number;
  currency: string;
  grantedAt: string;
  expiresAt: string;
};

type GrantRow = typeof schema.creditGrants.$inferSelect;

const view = (row: GrantRow): CreditGrant => ({
  id: row.id,
  metric: row.metric,
  units: row.units,
  remaining: row.remaining,
  source: row.source,
  sourceId: row.sourceId,
  amountCents: row.amountCents,
  currency: row.currency,
  grantedAt: row.grantedAt.toISOString(),
  expiresAt: row.expiresAt.toISOString(),
});

export type PaidTopUp = {
  orgId: string;
  metric: string;
  units: number;
  source: GrantSource;
  /** The Stripe invoice or Checkout Session that paid. */
  sourceId: string;
  amountCents: number;
  currency: string;
};

/**
 * Grants a paid top-up once: inserts its row unless one with the same source exists, and only
 * then emits `credits.granted` and the audit entry, in the same transaction. Answers the grant,
 * whoever wrote it.
 */
export async function grantPaidTopUp(paid: PaidTopUp): Promise<CreditGrant> {
  return db.transaction(async (tx) => {
    const [inserted] = await tx
      .insert(schema.creditGrants)
      .values({
        id: `cg_${crypto.randomUUID().replaceAll("-", "")}`,
        orgId: paid.orgId,
        metric: paid.metric,
        units: paid.units,
        remaining: paid.units,
        source: paid.source,
        sourceId: paid.sourceId,
        amountCents: paid.amountCents,
        currency: paid.currency,
        grantedAt: dsql`now()`,
        expiresAt: dsql`now() + make_interval(months => ${CREDIT_LIFETIME_MONTHS})`,
      })
      .onConflictDoNothing({ target: schema.creditGrants.sourceId })
      .returning();
    if (inserted) {
      await announce(tx, inserted);
      return view(inserted);
    }
    const [existing] = await tx.select().from(schema.creditGrants).where(eq(schema.creditGrants.sourceId, paid.sourceId));
    // A source id names one Stripe object of one customer: another org's row here is a bug, never a grant to answer.
    if (existing.orgId !== paid.orgId) throw new Error(`credit grant for ${paid.sourceId} belongs to another organisation`);
    return view(existing);
  });
}

async function announce(tx: Tx, row: GrantRow): Promise<void> {
  await emitEvent(
    {
      orgId: row.orgId,
      type: "credits.granted",
      data: {
        grantId: row.id,
        metric: row.metric,
        units: row.units,
        source: row.source,
        sourceId: row.sourceId,
        amountCents: row.amountCents,
        currency: row.currency,
        expiresAt: row.expiresAt.toISOString(),
      },
      dedupeKey: `credits.granted:${row.sourceId}`,
    },
    tx,
  );
  await appendAudit(
    {
      orgId: row.orgId,
      action: "credits.granted",
      target: row.metric,
      details: { grantId: row.id, units: row.units, source: row.source, sourceId: row.sourceId },
    },
    tx,
  );
}

export type MetricCredits = { metric: string; remaining: number; grants: CreditGrant[] };

/**
 * The org's credits per metric: what remains of the grants not yet expired (what the admission
 * can still spend), and each such grant with its expiry, soonest first (the order they are spent in).
 */
export async function creditsOf(orgId: string): Promise<MetricCredits[]> {
  const rows = await db
    .select()
    .from(schema.creditGrants)
    .where(and(eq(schema.creditGrants.orgId, orgId), gt(schema.creditGrants.expiresAt, dsql`now()`)))
    .orderBy(schema.creditGrants.metric, schema.creditGrants.expiresAt, desc(schema.creditGrants.grantedAt));
  const byMetric = new Map<string, MetricCredits>();
  for (const row of rows) {
    const entry = byMetric.get(row.metric) ?? { metric: row.metric, remaining: 0, grants: [] };
    entry.remaining += row.remaining;
    entry.grants.push(view(row));
    byMetric.set(row.metric, entry);
  }
  return [...byMetric.values()];
}

/** A Stripe invoice or Checkout Session as the grant reads it (stripe-top-ups.server.ts converts them). */
export type StripePayment = { id: string; paid: boolean; amountPaid: number; currency: string; metadata: Record<string, string> };

/**
 * The top-up a paid Stripe object stands for, or null (not a top-up, or not paid). What was
 * bought is read from the metadata the purchase wrote (its units at the catalog's terms of the
 * moment it was bought), the org from the Stripe customer it belongs to, never from metadata.
 */
export function paidTopUpOf(orgId: string, payment: StripePayment): PaidTopUp | null {
  const m = payment.metadata;
  if (m.kind !== "top_up" || !payment.paid) return null;
  const units = Number(m.units);
  if (!m.metric || !Number.isSafeInteger(units) || units <= 0) throw new Error(`top-up ${payment.id} carries no valid metric and units in its metadata`);
  return {
    orgId,
    metric: m.metric,
    units,
    source: m.source === "auto_top_up" ? "auto_top_up" : "top_up",
    sourceId: payment.id,
    amountCents: payment.amountPaid,
    currency: payment.currency,
  };
}
