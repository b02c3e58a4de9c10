// Past the included units (issue 23): the org's monthly overage cap and its auto top-up settings
// and runs. The admission (record_usage) reads the cap only when a request needs overage, and the
// settings only when it spent credits, so plans without overage or credits never touch them.
import { sql } from "drizzle-orm";
import { bigint, boolean, check, integer, pgTable, primaryKey, text, timestamp, unique } from "drizzle-orm/pg-core";
import { organisations } from "./schema-core";

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

// The overage cap an org admin chose (PUT /api/v1/billing/spend-cap). No row: the default, the
// monthly price of the period's plan (overage at most doubles the bill), so nobody gets an
// unbounded bill without choosing it. A row with amount_cents null: no cap, chosen explicitly.
export const orgSpendCaps = pgTable(
  "org_spend_caps",
  {
    orgId: text("org_id")
      .primaryKey()
      .references(() => organisations.id, { onDelete: "cascade" }),
    amountCents: bigint("amount_cents", { mode: "number" }),
    updatedAt: tz("updated_at").notNull().defaultNow(),
  },
  (t) => [check("org_spend_caps_amount_nonnegative", sql`${t.amountCents} is null or ${t.amountCents} >= 0`)],
);

// "When fewer than `below` credits of this metric remain, buy `packs` packs" (PUT /api/v1/billing/auto-top-up).
export const autoTopUpSettings = pgTable(
  "auto_top_up_settings",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    metric: text("metric").notNull(),
    below: bigint("below", { mode: "number" }).notNull(),
    packs: integer("packs").notNull(),
    enabled: boolean("enabled").notNull().default(true),
    updatedAt: tz("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.metric] }),
    check("auto_top_up_settings_below_positive", sql`${t.below} > 0`),
    check("auto_top_up_settings_packs_positive", sql`${t.packs} > 0`),
  ],
);

// One row per crossing of an enabled setting's threshold, inserted by the admission that crossed
// it (with the auto_top_up job, job_key the run id). A crossing is named by the newest grant of
// the metric when it happened (crossing_grant_id): retries and concurrent batches of the same
// crossing meet the unique key and add nothing; the credits the run buys are a newer grant, so
// the next crossing is a new run.
export const autoTopUpRuns = pgTable(
  "auto_top_up_runs",
  {
    id: text("id").primaryKey(), // atu_…
    orgId: text("org_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    metric: text("metric").notNull(),
    packs: integer("packs").notNull(),
    // pending → the auto_top_up task's outcome (another part of the system writes it)
    status: text("status").notNull().default("pending"),
    crossingGrantId: text("crossing_grant_id").notNull(),
    createdAt: tz("created_at").notNull().defaultNow(),
  },
  (t) => [unique("auto_top_up_runs_crossing_key").on(t.orgId, t.metric, t.crossingGrantId)],
);
