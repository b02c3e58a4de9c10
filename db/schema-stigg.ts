// What Stigg mirrors badly: the last drift check's findings per org (ops stigg:check writes all
// of them; the stigg_sync job rechecks its org after mirroring it). /admin shows the count.
import { jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { organisations } from "./schema-core";

export const stiggDrift = pgTable("stigg_drift", {
  orgId: text("org_id")
    .primaryKey()
    .references(() => organisations.id, { onDelete: "cascade" }),
  // What differs: one sentence each (plan, a feature's grant, or Stigg unreachable).
  problems: jsonb("problems").$type<string[]>().notNull(),
  checkedAt: timestamp("checked_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});
