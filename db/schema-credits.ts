// Prepaid credits (issue 23): units of a metered feature an org bought (a top-up pack, an auto
// top-up) or was given, spent after the plan's included units and before overage. Each grant is
// made once per source (source_id unique: the Stripe invoice or Checkout Session that paid it),
// so however often Stripe's events arrive, a payment grants once. A grant's units are spent
// oldest expiry first; it carries over from period to period and expires 12 months after
// purchase (expires_at). remaining only goes down, in the admission's transaction.
import { sql } from "drizzle-orm";
import { bigint, check, index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { organisations } from "./schema-core";

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const creditGrants = pgTable(
  "credit_grants",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    metric: text("metric").notNull(),
    units: bigint("units", { mode: "number" }).notNull(),
    remaining: bigint("remaining", { mode: "number" }).notNull(),
    // 'top_up' | 'auto_top_up' | 'admin'
    source: text("source").notNull(),
    // what paid for it (a Stripe invoice or Checkout Session id), or an operator's grant id
    sourceId: text("source_id").notNull().unique(),
    amountCents: bigint("amount_cents", { mode: "number" }).notNull().default(0),
    currency: text("currency").notNull().default("usd"),
    grantedAt: tz("granted_at").notNull().defaultNow(),
    expiresAt: tz("expires_at").notNull(),
  },
  (t) => [
    index("credit_grants_spendable_idx").on(t.orgId, t.metric, t.expiresAt).where(sql`remaining > 0`),
    check("credit_grants_units_positive", sql`${t.units} > 0`),
    check("credit_grants_remaining_within", sql`${t.remaining} >= 0 and ${t.remaining} <= ${t.units}`),
  ],
);
