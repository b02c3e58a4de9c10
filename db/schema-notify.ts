// Notifications: the events the system tells people and other systems about, their outbound
// webhook deliveries and emails, the org's settings for them, and the append-only audit log.
// Re-exported by schema.ts (drizzle-kit reads both through it).
import { sql } from "drizzle-orm";
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { organisations } from "./schema-core";

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
const orgRef = () =>
  text("org_id")
    .notNull()
    .references(() => organisations.id, { onDelete: "cascade" });

// One row per event (`evt_…`), written by emit_event() with its jobs in the same transaction.
// `dedupe_key` makes an emission idempotent (a webhook converged twice emits once).
export const events = pgTable(
  "events",
  {
    id: text("id").primaryKey(),
    orgId: orgRef(),
    type: text("type").notNull(),
    data: jsonb("data").notNull(),
    dedupeKey: text("dedupe_key"),
    createdAt: tz("created_at").notNull().defaultNow(),
  },
  // created_at alone: the retention job's range over every org.
  (t) => [
    uniqueIndex("events_dedupe_key").on(t.dedupeKey),
    index("events_org_created_idx").on(t.orgId, t.createdAt),
    index("events_created_idx").on(t.createdAt),
  ],
);

// A usage threshold reached, once per org, metric, period and threshold: the primary key is what
// makes usage.threshold_reached exactly-once across batches and app processes.
export const usageThresholds = pgTable(
  "usage_thresholds",
  {
    orgId: orgRef(),
    metric: text("metric").notNull(),
    periodStart: tz("period_start").notNull(),
    threshold: integer("threshold").notNull(), // percent of the included units: 80 and 100, or the org's own (usage_alerts)
    eventId: text("event_id").notNull(),
    reachedAt: tz("reached_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.metric, t.periodStart, t.threshold] })],
);

// Alerts an org sets itself, per metered feature (issue 23): the percents of the included units
// that emit usage.threshold_reached (replacing the default 80 and 100), "credits below N"
// (credits.low) and "overage above X cents" (overage.threshold_reached, the feature's own overage
// charge this period). Each fires once per period and threshold; decided by record_usage in the
// admitting transaction. A row makes subscriptions.custom_alerts true for the org.
export const usageAlerts = pgTable(
  "usage_alerts",
  {
    orgId: orgRef(),
    metric: text("metric").notNull(),
    percents: integer("percents").array().notNull(),
    creditsBelow: bigint("credits_below", { mode: "number" }),
    overageAboveCents: bigint("overage_above_cents", { mode: "number" }),
    updatedAt: tz("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.metric] })],
);

// What the org wants: its billing email (null: the owner's) and which emails it gets.
export const orgSettings = pgTable("org_settings", {
  orgId: text("org_id")
    .primaryKey()
    .references(() => organisations.id, { onDelete: "cascade" }),
  billingEmail: text("billing_email"),
  // event types the org does NOT want by email (default: all of them)
  mutedEmails: text("muted_emails").array().notNull().default(sql`'{}'::text[]`),
  updatedAt: tz("updated_at").notNull().defaultNow(),
});

export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(), // we_…
    orgId: orgRef(),
    url: text("url").notNull(),
    eventTypes: text("event_types").array().notNull(),
    secret: text("secret").notNull(), // whsec_…, shown once at creation
    enabled: boolean("enabled").notNull().default(true),
    disabledReason: text("disabled_reason"),
    // first failure since the last success: an endpoint failing for days is disabled
    failingSince: tz("failing_since"),
    createdAt: tz("created_at").notNull().defaultNow(),
    deletedAt: tz("deleted_at"),
  },
  (t) => [index("webhook_endpoints_org_idx").on(t.orgId)],
);

export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(), // wd_…
    orgId: orgRef(),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventId: text("event_id")
      .notNull()
      .references(() => events.id, { onDelete: "cascade" }),
    status: text("status").notNull().default("pending"), // pending, retrying, succeeded, failed
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: tz("next_attempt_at"),
    lastResponseCode: integer("last_response_code"),
    createdAt: tz("created_at").notNull().defaultNow(),
    updatedAt: tz("updated_at").notNull().defaultNow(),
  },
  // event_id: an event's deliveries (what keeps the event, and its ON DELETE CASCADE); created_at:
  // the retention job's range over every org.
  (t) => [
    uniqueIndex("webhook_deliveries_endpoint_event").on(t.endpointId, t.eventId),
    index("webhook_deliveries_org_idx").on(t.orgId, t.createdAt),
    index("webhook_deliveries_event_idx").on(t.eventId),
    index("webhook_deliveries_created_idx").on(t.createdAt),
  ],
);

export const webhookAttempts = pgTable(
  "webhook_attempts",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    deliveryId: text("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    attemptedAt: tz("attempted_at").notNull().defaultNow(),
    succeeded: boolean("succeeded").notNull(),
    responseCode: integer("response_code"),
    latencyMs: integer("latency_ms").notNull(),
    responseBody: text("response_body"), // the first 1 KB
    error: text("error"),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId)],
);

// Every email the system decides to send, one per event (the unique event_id: a crossing never
// mails twice). Without SMTP_URL, rows stay here with status `local` and show on /admin.
export const emailOutbox = pgTable(
  "email_outbox",
  {
    id: text("id").primaryKey(), // em_…
    orgId: orgRef(),
    eventId: text("event_id").notNull(),
    toAddress: text("to_address").notNull(),
    subject: text("subject").notNull(),
    textBody: text("text_body").notNull(),
    htmlBody: text("html_body").notNull(),
    status: text("status").notNull().default("pending"), // pending, sent, local
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    createdAt: tz("created_at").notNull().defaultNow(),
    sentAt: tz("sent_at"),
  },
  (t) => [uniqueIndex("email_outbox_event").on(t.eventId), index("email_outbox_created_idx").on(t.createdAt)],
);

// Append-only (a trigger refuses UPDATE and DELETE): who did what, for which org, when, in
// which request. No foreign key: the record outlives what it names.
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    orgId: text("org_id"),
    actor: text("actor").notNull(), // an email, `system` or `ops`
    action: text("action").notNull(),
    target: text("target"),
    details: jsonb("details").notNull().default(sql`'{}'::jsonb`),
    requestId: text("request_id"),
    at: tz("at").notNull().defaultNow(),
  },
  (t) => [index("audit_log_org_at_idx").on(t.orgId, t.at), index("audit_log_at_idx").on(t.at)],
);

export type EventRow = typeof events.$inferSelect;
