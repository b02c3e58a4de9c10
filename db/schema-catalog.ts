// The catalog, versioned (docs/db.md): what `ops catalog:push` publishes. A catalog version and the
// plan versions it names are immutable once published (a trigger refuses UPDATE and DELETE);
// subscriptions.plan_version names the plan version a subscription was bought on (grandfathering).
// `plans` and `plan_units` (schema-core.ts) stay the hot path's copy of the current version.
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** One row per published catalog: its whole content as the file has it (canonical JSON). */
export const catalogVersions = pgTable("catalog_versions", {
  version: integer("version").primaryKey(),
  content: jsonb("content").notNull(),
  // sha256 of the canonical content: "did anything change" is one comparison.
  digest: text("digest").notNull(),
  // Who published it: `catalog:push`, or a start with PLANS_CONFIG (or the shipped default).
  source: text("source").notNull(),
  publishedAt: tz("published_at").notNull().defaultNow(),
});

/**
 * Every feature ever published. Its type never changes (a meter cannot become a gate); its
 * Stripe billing meter (metered features) has the feature's code as event name.
 */
export const features = pgTable("features", {
  code: text("code").primaryKey(),
  type: text("type").notNull(), // metered | boolean | numeric
  unit: text("unit"),
  stripeMeterId: text("stripe_meter_id"),
  firstVersion: integer("first_version").notNull(),
  // The newest catalog version that has it: a feature is in the current catalog when this is the current version.
  lastVersion: integer("last_version").notNull(),
});

/** A plan's terms as sold from one catalog version on: a new row only when the plan changed. */
export const planVersions = pgTable(
  "plan_versions",
  {
    planCode: text("plan_code").notNull(),
    version: integer("version").notNull(),
    catalogVersion: integer("catalog_version").notNull(), // first published in
    name: text("name").notNull(),
    currency: text("currency").notNull(),
    priceMonth: integer("price_month"), // minor units; null for a trial (priceOf's price follows it)
    priceYear: integer("price_year"),
    trialDays: integer("trial_days"),
    priceOf: text("price_of"),
    content: jsonb("content").notNull(), // the plan as the catalog file has it
    // The Stripe prices made (or named) for this version when it was published; null when it
    // was published without Stripe (at start, from PLANS_CONFIG: found by lookup key at first use).
    stripePriceMonth: text("stripe_price_month"),
    stripePriceYear: text("stripe_price_year"),
  },
  (t) => [primaryKey({ columns: [t.planCode, t.version] })],
);

/** What a plan version grants per feature (a feature it does not list is not granted). */
export const planVersionFeatures = pgTable(
  "plan_version_features",
  {
    planCode: text("plan_code").notNull(),
    version: integer("version").notNull(),
    feature: text("feature").notNull(),
    included: bigint("included", { mode: "number" }), // metered: units per period
    overagePriceCents: integer("overage_price_cents"), // metered, monthly prices only
    overagePer: integer("overage_per"),
    limit: bigint("limit", { mode: "number" }), // numeric: null is unlimited
    granted: boolean("granted"), // boolean
  },
  (t) => [primaryKey({ columns: [t.planCode, t.version, t.feature] })],
);

/** Which version of each plan a catalog version sells. */
export const catalogVersionPlans = pgTable(
  "catalog_version_plans",
  {
    catalogVersion: integer("catalog_version").notNull(),
    planCode: text("plan_code").notNull(),
    planVersion: integer("plan_version").notNull(),
  },
  (t) => [primaryKey({ columns: [t.catalogVersion, t.planCode] }), index("catalog_version_plans_plan_idx").on(t.planCode, t.catalogVersion)],
);
