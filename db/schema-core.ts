// The core tables of the database schema (drizzle; db/schema.ts gathers every file). Migrations
// in db/migrations are generated from the schema by drizzle-kit and committed; hand-written DDL
// (ledger partitions) lives in custom migrations next to them, and the SQL functions' current
// definitions in db/functions/. See docs/db.md.
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  json,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** A per-key request rate limit: at most `limit` quota checks and usage records per `windowSeconds` (auth/rate-limits.server.ts). */
export type KeyRateLimit = { limit: number; windowSeconds: number };

export const organisations = pgTable("organisations", {
  id: text("id").primaryKey(), // Clerk org id (org_…) or a dev org id
  name: text("name").notNull(),
  ownerEmail: text("owner_email"),
  timeZone: text("time_zone").notNull().default("UTC"),
  stripeCustomerId: text("stripe_customer_id").unique(),
  stripeTestClockId: text("stripe_test_clock_id"),
  // When the org last started a Checkout, and when the rollover job last asked Stripe whether it
  // holds a live subscription the mirror has not seen (billing/reconcile.server.ts).
  checkoutStartedAt: tz("checkout_started_at"),
  stripeCheckedAt: tz("stripe_checked_at"),
  // The rate limits of the org's keys that carry none of their own (null: no default).
  defaultKeyRateLimits: jsonb("default_key_rate_limits").$type<KeyRateLimit[]>(),
  createdAt: tz("created_at").notNull().defaultNow(),
});

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(), // key_…, safe to show
    orgId: text("org_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(), // the first characters of the key, for people to recognise it
    hash: text("hash").notNull(), // sha-256 of the whole key; the key itself is never stored
    createdAt: tz("created_at").notNull().defaultNow(),
    lastUsedAt: tz("last_used_at"),
    revokedAt: tz("revoked_at"),
    // Its own rate limits (null: the org's default applies; []: none, whatever the default).
    rateLimits: jsonb("rate_limits").$type<KeyRateLimit[]>(),
    expiresAt: tz("expires_at"), // refused from then on, as a revoked key is
    // After a roll: the replaced secret's hash, still accepted until previous_hash_until.
    previousHash: text("previous_hash"),
    previousHashUntil: tz("previous_hash_until"),
  },
  (t) => [
    uniqueIndex("api_keys_hash_key").on(t.hash),
    index("api_keys_org_idx").on(t.orgId),
    uniqueIndex("api_keys_previous_hash_key").on(t.previousHash).where(sql`previous_hash is not null`),
  ],
);

// The current catalog version's plans (schema-catalog.ts), mirrored when a version is published,
// so the usage SQL can read included units and what a plan renews as (trial → starter). A plan
// a newer catalog dropped stays here for its grandfathered subscribers.
export const plans = pgTable("plans", {
  code: text("code").primaryKey(),
  name: text("name").notNull(),
  priceMonthly: integer("price_monthly").notNull(),
  currency: text("currency").notNull(),
  trialDays: integer("trial_days"),
  renewsAs: text("renews_as").notNull(),
  stripePriceId: text("stripe_price_id"),
});

export const planUnits = pgTable(
  "plan_units",
  {
    planCode: text("plan_code").notNull(),
    metric: text("metric").notNull(),
    included: bigint("included", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.planCode, t.metric] })],
);

// The subscription mirror: Stripe is the authority, this row is what the hot path reads.
export const subscriptions = pgTable("subscriptions", {
  orgId: text("org_id")
    .primaryKey()
    .references(() => organisations.id, { onDelete: "cascade" }),
  stripeSubscriptionId: text("stripe_subscription_id").unique(),
  planCode: text("plan_code").notNull(),
  // The plan version it was bought on (plan_versions): it keeps those terms until moved. Null
  // until the first catalog version is published; new subscriptions get the plan's newest.
  planVersion: integer("plan_version"),
  // The plan version it moves to at its next renewal (ops catalog:migrate --at renewal); convergence
  // applies it when Stripe starts the next period on the same plan.
  pendingPlanVersion: integer("pending_plan_version"),
  // month | year: the price's interval (a yearly one keeps monthly allowances: org_period). Convergence writes it.
  billingInterval: text("billing_interval").notNull().default("month"),
  status: text("status").notNull(), // Stripe's: trialing, active, past_due, canceled, unpaid, incomplete, …
  periodStart: tz("period_start").notNull(),
  periodEnd: tz("period_end").notNull(),
  trialEnd: tz("trial_end"),
  cancelAtPeriodEnd: boolean("cancel_at_period_end").notNull().default(false),
  pendingPlanCode: text("pending_plan_code"),
  // month | year: the interval of the price the scheduled change moves to (with pending_plan_code).
  pendingBillingInterval: text("pending_billing_interval"),
  // Stripe's own timestamp of the state mirrored here, so an older event never overwrites a newer one.
  stripeUpdatedAt: tz("stripe_updated_at"),
  updatedAt: tz("updated_at").notNull().defaultNow(),
  // The org was ever granted credits (credit_grants). Kept by triggers (migration 0021), never by
  // the app: the quota check and the entitlements read, which read this row anyway, look for
  // credits only when it is set, so orgs that never bought any pay nothing for credits.
  hasCredits: boolean("has_credits").notNull().default(false),
  // True while the org has alerts of its own (usage_alerts): record_usage reads it with the lock it
  // takes anyway, so an org on the default alerts (80% and 100%) does no more work than before. Set
  // by triggers: on usage_alerts (usage_alerts_flag) and on insert here (subscription_custom_alerts).
  customAlerts: boolean("custom_alerts").notNull().default(false),
});

// One counter per org, metric and period. Keyed by the period's start instant, not its YYYY-MM
// label: a trial and the paid period after it can share a label but never a start.
export const usageCounters = pgTable(
  "usage_counters",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    metric: text("metric").notNull(),
    periodStart: tz("period_start").notNull(),
    periodEnd: tz("period_end").notNull(),
    periodKey: text("period_key").notNull(),
    included: bigint("included", { mode: "number" }).notNull(),
    // All units admitted this period: included + credit_used + overage_used.
    used: bigint("used", { mode: "number" }).notNull().default(0),
    // Of used, the units paid with prepaid credits (never billed: the meter report is used - credit_used)
    // and the units past the included ones and the credits (billed at the overage price).
    creditUsed: bigint("credit_used", { mode: "number" }).notNull().default(0),
    overageUsed: bigint("overage_used", { mode: "number" }).notNull().default(0),
    // The plan version's overage price, copied when the period's counter starts (null: none, or a
    // yearly plan, which sells no overage): the admission's flag that overage may be admitted.
    overagePriceCents: integer("overage_price_cents"),
    overagePer: integer("overage_per"),
    updatedAt: tz("updated_at").notNull().defaultNow(),
  },
  // The period's counters of an org, every metric (the entitlements reads): the primary key's
  // prefix would scan the org's counters of every period it ever had. With the metric last, a
  // lookup of one counter is exact by either index (the planner may take this one).
  (t) => [primaryKey({ columns: [t.orgId, t.metric, t.periodStart] }), index("usage_counters_org_period_idx").on(t.orgId, t.periodStart, t.metric)],
);

// The usage ledger: one row per admitted request, never for a denied one. Partitioned by month of
// recorded_at (see the custom migration); retention is a partition drop. used_after and included
// are what the admission answered, so a replay rebuilds the identical body.
export const usageEvents = pgTable(
  "usage_events",
  {
    orgId: text("org_id").notNull(),
    requestId: text("request_id").notNull(),
    metric: text("metric").notNull(),
    quantity: integer("quantity").notNull(),
    periodStart: tz("period_start").notNull(),
    usedAfter: bigint("used_after", { mode: "number" }).notNull(),
    included: bigint("included", { mode: "number" }).notNull(),
    recordedAt: tz("recorded_at").notNull().default(sql`now()`),
    // 0 for a request of one feature; 1..N (in feature order) for the parts of a request that
    // records several features at once (record_usage_parts): one row per feature, one request_id.
    part: smallint("part").notNull().default(0),
    // Of quantity, the units paid with credits and the units admitted as overage (the rest were included).
    creditUnits: integer("credit_units").notNull().default(0),
    overageUnits: integer("overage_units").notNull().default(0),
    // The API key the request came under ('' when none did: a caller that sends no key id).
    keyId: text("key_id").notNull().default(""),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.recordedAt, t.requestId, t.part] }), index("usage_events_org_request_idx").on(t.orgId, t.requestId)],
);

export type Subscription = typeof subscriptions.$inferSelect;

// Stripe webhook events, stored by id before their job runs (the intake's idempotency).
export const stripeEvents = pgTable(
  "stripe_events",
  {
    id: text("id").primaryKey(), // evt_…
    type: text("type").notNull(),
    objectId: text("object_id"),
    customerId: text("customer_id"),
    stripeCreatedAt: tz("stripe_created_at").notNull(),
    // The signed body as it came, kept as json (text, checked), not jsonb: a storm's intake stores
    // thousands a second and reads each a few times at most; jsonb's parse and pglz compression
    // cost Postgres about 100 µs more per event (compression lz4 where the server has it).
    payload: json("payload").notNull(),
    receivedAt: tz("received_at").notNull().defaultNow(),
    processedAt: tz("processed_at"),
    // Receipt → converged, the figure behind the "webhook converge p95" bar.
    convergeMs: integer("converge_ms"),
  },
  (t) => [
    index("stripe_events_received_idx").on(t.receivedAt),
    // A customer's events still to converge, in arrival order: a convergence job takes them together.
    index("stripe_events_pending_idx").on(t.customerId, t.receivedAt).where(sql`processed_at is null`),
  ],
);

// The invoice mirror: what the portal lists, converged from Stripe.
export const invoices = pgTable(
  "invoices",
  {
    id: text("id").primaryKey(), // in_…
    orgId: text("org_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    stripeSubscriptionId: text("stripe_subscription_id"),
    number: text("number"),
    status: text("status").notNull(),
    billingReason: text("billing_reason"),
    currency: text("currency").notNull(),
    amountDue: integer("amount_due").notNull(),
    amountPaid: integer("amount_paid").notNull(),
    total: integer("total").notNull(),
    periodStart: tz("period_start"),
    periodEnd: tz("period_end"),
    hostedInvoiceUrl: text("hosted_invoice_url"),
    invoicePdf: text("invoice_pdf"),
    stripeCreatedAt: tz("stripe_created_at").notNull(),
    updatedAt: tz("updated_at").notNull().defaultNow(),
  },
  (t) => [index("invoices_org_created_idx").on(t.orgId, t.stripeCreatedAt)],
);

export type StripeEventRow = typeof stripeEvents.$inferSelect;

// Hourly usage per org and metric (UTC hours), kept by record_usage in the same transaction as
// the counter: the portal's daily chart reads at most ~750 rows a period, in the org's time zone.
export const usageHourly = pgTable(
  "usage_hourly",
  {
    orgId: text("org_id").notNull(),
    metric: text("metric").notNull(),
    hour: tz("hour").notNull(),
    // The API key the usage came under ('' for none), as in usage_events.
    keyId: text("key_id").notNull().default(""),
    quantity: bigint("quantity", { mode: "number" }).notNull(),
  },
  // (org, hour) first: the history and the chart read an org's hours in a range, of every metric and key.
  (t) => [primaryKey({ columns: [t.orgId, t.hour, t.metric, t.keyId] })],
);

// What has been reported to Stripe as meter events, per counter. `pendingTo` is written before a
// report is sent and cleared after, so a report cut off mid-way is resent with the same
// identifier (and not counted twice by Stripe).
export const usageReports = pgTable(
  "usage_reports",
  {
    orgId: text("org_id").notNull(),
    metric: text("metric").notNull(),
    periodStart: tz("period_start").notNull(),
    reported: bigint("reported", { mode: "number" }).notNull().default(0),
    pendingTo: bigint("pending_to", { mode: "number" }),
    reportedAt: tz("reported_at"),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.metric, t.periodStart] })],
);

// Dev sign-in sessions (Clerk mode keeps its own): the cookie carries only the signed id, and
// every request that uses the session reads this row, so a sign-out or a revocation ends it on
// the server at once. Expired and revoked rows are refused.
export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(), // random, 256 bits; the cookie carries it signed
    email: text("email").notNull(),
    orgId: text("org_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    createdAt: tz("created_at").notNull().defaultNow(),
    expiresAt: tz("expires_at").notNull(),
    revokedAt: tz("revoked_at"),
  },
  // expires_at: the retention job finds expired sessions by it (docs/operations.md, "Retention").
  (t) => [index("sessions_email_idx").on(t.email), index("sessions_expires_idx").on(t.expiresAt)],
);

// The answers of plan changes by idempotency key, so a retried upgrade answers its original
// success (not "already on that plan"); a key reused for another plan is a conflict.
export const billingRequests = pgTable(
  "billing_requests",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    idempotencyKey: text("idempotency_key").notNull(),
    planCode: text("plan_code").notNull(),
    response: jsonb("response").notNull(),
    createdAt: tz("created_at").notNull().defaultNow(),
  },
  // created_at: the retention job finds keys past their replay window by it.
  (t) => [primaryKey({ columns: [t.orgId, t.idempotencyKey] }), index("billing_requests_created_idx").on(t.createdAt)],
);

// Worker processes alive on this database: one row per graphile-worker pool (its id is what the
// pool writes in `locked_by`), with a heartbeat. The jobs and queues locked by a pool whose
// process is gone are unlocked at once (worker/liveness.ts) rather than after graphile-worker's
// 4 hours. `hostKey` names the machine and pid namespace, where `pid` can be checked directly.
export const workerHeartbeats = pgTable("worker_heartbeats", {
  poolId: text("pool_id").primaryKey(),
  hostname: text("hostname").notNull(),
  hostKey: text("host_key").notNull(),
  pid: integer("pid").notNull(),
  startedAt: tz("started_at").notNull().defaultNow(),
  lastSeenAt: tz("last_seen_at").notNull().defaultNow(),
});

// SLO windows that every process can read: each process adds its per-minute histogram counts
// (bucket = index into the series' bounds, app/server/observe/metrics.server.ts) every ~10 s. Counts only
// ever add up, so the merged histogram over any window is exact across processes.
export const sloBuckets = pgTable(
  "slo_buckets",
  {
    series: text("series").notNull(), // quota_latency | converge
    minute: tz("minute").notNull(),
    bucket: smallint("bucket").notNull(),
    count: bigint("count", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.series, t.minute, t.bucket] })],
);

// The last drift measured per period and metered feature (the worst org of the period), for the
// SLO and /metrics.
export const sloDrift = pgTable(
  "slo_drift",
  {
    periodKey: text("period_key").notNull(),
    metric: text("metric").notNull().default("api_call"),
    maxDrift: doublePrecision("max_drift").notNull(),
    measuredAt: tz("measured_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.periodKey, t.metric] })],
);

// An SLO in breach: since when, and when it was alerted (once per breach). Deleted on recovery.
export const sloBreaches = pgTable("slo_breaches", {
  slo: text("slo").primaryKey(),
  breachedSince: tz("breached_since").notNull().defaultNow(),
  alertedAt: tz("alerted_at"),
});

// Organisations deleted in Clerk (its organization.deleted webhook): their keys were revoked;
// the rest (a live Stripe subscription, data) waits for an operator, listed on /admin.
export const clerkOrgDeletions = pgTable("clerk_org_deletions", {
  orgId: text("org_id").primaryKey(),
  eventId: text("event_id").notNull(), // svix-id of the webhook
  keysRevoked: integer("keys_revoked").notNull(),
  deletedAt: tz("deleted_at").notNull().defaultNow(),
  handledAt: tz("handled_at"),
});

// Membership changes from Clerk's webhooks: a session token issued before `changedAt` carries
// the old role, so the change applies from the next request instead of at the token's refresh.
export const clerkMemberships = pgTable(
  "clerk_memberships",
  {
    orgId: text("org_id").notNull(),
    userId: text("user_id").notNull(),
    role: text("role"), // org:admin | org:member; null: removed from the org
    changedAt: tz("changed_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] })],
);
