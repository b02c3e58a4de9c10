// Retention: rows nothing needs any more are deleted once past their period, table by table
// (docs/operations.md, "Retention", says how long each is kept and why). The worker's hourly
// `retention` job runs it, and `bun run ops retention --apply`; without --apply the CLI only
// counts. Rows go oldest first in batches of at most RETENTION_BATCH_SIZE, each batch one short
// transaction with its own time limits and rows another transaction holds skipped (SKIP LOCKED),
// so no statement holds locks for long, a run can stop between any two batches, and a second run,
// or two at once, deletes nothing twice. A rule's condition also names what still needs a row: it
// is never past its period while anything can act on it.
//
// Not here: the audit log (append-only, kept 10 years), invoices and the usage counters and reports
// (billing records), the ledger (monthly partitions, dropped by hand: docs/db.md), SLO buckets
// (slo_watch keeps 2 hours) and worker heartbeats (the liveness loop deletes them).
import type postgres from "postgres";
import { REPLAY_WINDOW_HOURS } from "../billing/idempotency.server";
import { observeRetention } from "../observe/metrics.server";
import { config } from "../platform/config.server";
import { sql } from "../platform/db.server";
import { log } from "../platform/log.server";

/** A transaction of the shared pool. */
type Tx = typeof sql extends postgres.Sql<infer Types> ? postgres.TransactionSql<Types> : never;
type Fragment = postgres.PendingQuery<postgres.Row[]>;

/** How long rows are kept (config, so a test can shorten them). */
export type RetentionPeriods = {
  stripeEventsDays: number;
  eventsDays: number;
  webhookDeliveriesDays: number;
  emailsDays: number;
  usageHourlyMonths: number;
};

/** Expired sessions are refused at once; their rows stay this long, for whoever looks into a sign-in. */
const SESSIONS_KEPT_DAYS = 7;
/** A failed cron run is superseded by the next tick; it stays this long for its error to be read. */
const FAILED_CRON_RUNS_KEPT_DAYS = 14;
/** One run's time budget: the next run goes on where this one stopped. */
const RUN_BUDGET_MS = 5 * 60_000;

type Rule = {
  /** What operators read (logs, the metric's label, the CLI). */
  table: string;
  /** The table the rows are in, when the name above is not it. */
  relation?: string;
  keptFor: string;
  /** The rows past their period that nothing needs any more (a condition on the table's own rows). */
  past: (tx: Tx) => Fragment;
  /** Deletes at most `limit` of them, oldest first. */
  remove: (tx: Tx, limit: number) => Fragment;
};

const daysAgo = (tx: Tx, days: number) => tx`now() - make_interval(days => ${days}::int)`;

function rules(p: RetentionPeriods): Rule[] {
  const usageHourlyBefore = (tx: Tx) => tx`date_trunc('month', now()) - make_interval(months => ${p.usageHourlyMonths}::int)`;
  const deliveries: Rule = {
    table: "webhook_deliveries",
    keptFor: `${p.webhookDeliveriesDays} days, once delivered or failed for good (with its attempts)`,
    // Pending and retrying deliveries stay, and so does one whose attempt job is still queued (a
    // person's retry).
    past: (tx) => tx`
      status in ('succeeded', 'failed')
      and created_at < ${daysAgo(tx, p.webhookDeliveriesDays)} and updated_at < ${daysAgo(tx, p.webhookDeliveriesDays)}
      and not exists (select 1 from graphile_worker._private_jobs j where j.key = 'delivery:' || webhook_deliveries.id)`,
    remove: (tx, limit) => tx`
      delete from webhook_deliveries where id in (
        select id from webhook_deliveries where ${deliveries.past(tx)} order by created_at limit ${limit} for update skip locked)`,
  };
  const endpoints: Rule = {
    table: "webhook_endpoints",
    keptFor: `${p.webhookDeliveriesDays} days after it was deleted, once its delivery log is gone`,
    past: (tx) => tx`
      deleted_at < ${daysAgo(tx, p.webhookDeliveriesDays)}
      and not exists (select 1 from webhook_deliveries d where d.endpoint_id = webhook_endpoints.id)`,
    remove: (tx, limit) => tx`
      delete from webhook_endpoints where id in (
        select id from webhook_endpoints where ${endpoints.past(tx)} order by deleted_at limit ${limit} for update skip locked)`,
  };
  const emails: Rule = {
    table: "email_outbox",
    keptFor: `${p.emailsDays} days, once sent (or kept locally without SMTP)`,
    past: (tx) => tx`status <> 'pending' and created_at < ${daysAgo(tx, p.emailsDays)}`,
    remove: (tx, limit) => tx`
      delete from email_outbox where id in (
        select id from email_outbox where ${emails.past(tx)} order by created_at limit ${limit} for update skip locked)`,
  };
  const events: Rule = {
    table: "events",
    keptFor: `${p.eventsDays} days, once dispatched, its deliveries gone and its email sent`,
    // After its deliveries (their own rule, above), so deleting an event never cascades to a
    // delivery; a dispatch job still queued or failed (awaiting replay) keeps it too.
    past: (tx) => tx`
      created_at < ${daysAgo(tx, p.eventsDays)}
      and not exists (select 1 from webhook_deliveries d where d.event_id = events.id)
      and not exists (select 1 from email_outbox m where m.event_id = events.id and m.status = 'pending')
      and not exists (select 1 from graphile_worker._private_jobs j where j.key = 'event:' || events.id)`,
    remove: (tx, limit) => tx`
      delete from events where id in (
        select id from events where ${events.past(tx)} order by created_at limit ${limit} for update skip locked)`,
  };
  const stripeEvents: Rule = {
    table: "stripe_events",
    keptFor: `${p.stripeEventsDays} days after it arrived, once converged`,
    // Unprocessed (its job queued, retrying or dead-lettered awaiting `ops replay`) stays.
    past: (tx) => tx`
      processed_at is not null and received_at < ${daysAgo(tx, p.stripeEventsDays)}
      and not exists (select 1 from graphile_worker._private_jobs j where j.key = stripe_events.id)`,
    remove: (tx, limit) => tx`
      delete from stripe_events where id in (
        select id from stripe_events where ${stripeEvents.past(tx)} order by received_at limit ${limit} for update skip locked)`,
  };
  const sessions: Rule = {
    table: "sessions",
    keptFor: `${SESSIONS_KEPT_DAYS} days after it expired (a revoked one expires within the 7 days of its life)`,
    past: (tx) => tx`expires_at < ${daysAgo(tx, SESSIONS_KEPT_DAYS)}`,
    remove: (tx, limit) => tx`
      delete from sessions where id in (
        select id from sessions where ${sessions.past(tx)} order by expires_at limit ${limit} for update skip locked)`,
  };
  const billingRequests: Rule = {
    table: "billing_requests",
    keptFor: `a day past its ${REPLAY_WINDOW_HOURS} h replay window`,
    past: (tx) => tx`created_at < now() - make_interval(hours => ${REPLAY_WINDOW_HOURS + 24}::int)`,
    remove: (tx, limit) => tx`
      delete from billing_requests where (org_id, idempotency_key) in (
        select org_id, idempotency_key from billing_requests where ${billingRequests.past(tx)}
         order by created_at limit ${limit} for update skip locked)`,
  };
  const usageHourly: Rule = {
    table: "usage_hourly",
    keptFor: `${p.usageHourlyMonths} whole months before the current one`,
    past: (tx) => tx`hour < ${usageHourlyBefore(tx)}`,
    // No index on `hour` alone (one would cost every admission a write): walk the primary key
    // (org_id, hour, metric, key_id) per counter's org. Every hourly row has a counter (both are
    // written by record_usage), and counters are never deleted. Rows this old are written by
    // nothing, so there is nothing to lock against.
    remove: (tx, limit) => tx`
      delete from usage_hourly where (org_id, hour, metric, key_id) in (
        select h.org_id, h.hour, h.metric, h.key_id
          from (select distinct org_id from usage_counters) c
         cross join lateral (
           select org_id, hour, metric, key_id from usage_hourly h
            where h.org_id = c.org_id and h.hour < ${usageHourlyBefore(tx)}
            order by hour limit ${limit}) h
         limit ${limit})`,
  };
  const failedCronRuns: Rule = {
    table: "graphile_worker.jobs (failed cron runs)",
    relation: "graphile_worker._private_jobs",
    keptFor: `${FAILED_CRON_RUNS_KEPT_DAYS} days after the last attempt; other failed jobs stay until replayed`,
    // Only scheduled runs (the crontab's `_cron` payload): the next tick does their work. Any
    // other failed job is the dead-letter queue, kept until an operator replays it.
    past: (tx) => tx`
      attempts >= max_attempts and locked_at is null and (payload -> '_cron') is not null
      and updated_at < ${daysAgo(tx, FAILED_CRON_RUNS_KEPT_DAYS)}`,
    remove: (tx, limit) => tx`
      delete from graphile_worker._private_jobs where id in (
        select id from graphile_worker._private_jobs where ${failedCronRuns.past(tx)} order by id limit ${limit} for update skip locked)`,
  };
  // Deliveries before their endpoints and events: what is deleted first keeps nothing else.
  return [deliveries, endpoints, emails, events, stripeEvents, sessions, billingRequests, usageHourly, failedCronRuns];
}

/** The periods the configuration sets. */
export const configuredPeriods = (): RetentionPeriods => ({
  stripeEventsDays: config.RETENTION_STRIPE_EVENTS_DAYS,
  eventsDays: config.RETENTION_EVENTS_DAYS,
  webhookDeliveriesDays: config.RETENTION_WEBHOOK_DELIVERIES_DAYS,
  emailsDays: config.RETENTION_EMAILS_DAYS,
  usageHourlyMonths: config.RETENTION_USAGE_HOURLY_MONTHS,
});

export type RetentionTable = {
  table: string;
  keptFor: string;
  /** Dry run: rows past their period now. Applied: rows deleted. */
  rows: number;
  batches: number;
};
export type RetentionReport = { applied: boolean; complete: boolean; ms: number; tables: RetentionTable[] };

/**
 * One statement in its own short transaction: it waits at most 2 s for a lock and runs at most
 * 30 s (a dry run's count, which deletes nothing and locks no row, up to 2 minutes).
 */
const bounded = <T>(work: (tx: Tx) => Promise<T>, statementTimeout = "30s") =>
  sql.begin(async (tx) => {
    await tx`select set_config('lock_timeout', '2s', true), set_config('statement_timeout', ${statementTimeout}, true)`;
    return work(tx);
  }) as Promise<T>;

/**
 * Deletes, table by table, the rows past their period (`apply`), or only counts them. A run stops
 * when the budget is spent (`complete: false`; the next run goes on) and logs one line.
 */
export async function runRetention(
  opts: { apply: boolean; batchSize?: number; periods?: RetentionPeriods; budgetMs?: number } = { apply: false },
): Promise<RetentionReport> {
  const started = Date.now();
  const limit = opts.batchSize ?? config.RETENTION_BATCH_SIZE;
  const deadline = started + (opts.budgetMs ?? RUN_BUDGET_MS);
  const tables: RetentionTable[] = [];
  let complete = true;
  for (const rule of rules(opts.periods ?? configuredPeriods())) {
    const line: RetentionTable = { table: rule.table, keptFor: rule.keptFor, rows: 0, batches: 0 };
    tables.push(line);
    if (!opts.apply) {
      const [row] = await bounded(
        (tx) => tx<{ n: number }[]>`select count(*)::int as n from ${tx(rule.relation ?? rule.table)} where ${rule.past(tx)}`,
        "120s",
      );
      line.rows = row.n;
      continue;
    }
    for (;;) {
      if (Date.now() >= deadline) {
        complete = false;
        break;
      }
      const deleted = await bounded(async (tx) => (await rule.remove(tx, limit)).count);
      line.batches++;
      line.rows += deleted;
      observeRetention(rule.table, deleted);
      if (deleted < limit) break;
    }
  }
  const report = { applied: opts.apply, complete, ms: Date.now() - started, tables };
  if (opts.apply) {
    const deleted = Object.fromEntries(tables.filter((t) => t.rows > 0).map((t) => [t.table, t.rows]));
    log.info({ deleted, complete, ms: report.ms }, complete ? "retention: rows past their period deleted" : "retention: budget spent; the next run goes on");
  }
  return report;
}
