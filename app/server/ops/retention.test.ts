// The retention job against the real Postgres: rows past their period go, recent rows and rows
// something still needs stay (an unconverged Stripe event, a dead-lettered job, a delivery still
// retrying, an idempotency key in its replay window, a live session, a pending email), batches
// are bounded, a second run deletes nothing, the audit log is untouched, and the CLI counts by
// default and deletes only with --apply.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { spawn } from "bun";
import type { JobHelpers } from "graphile-worker";
import { orgWithKey, setIncluded } from "../../../test/factories";
import { taskList } from "../../../worker/tasks";
import { sql } from "../platform/db.server";
import { type RetentionReport, runRetention } from "./retention.server";

const { orgId } = await orgWithKey({ plan: "starter" });
await setIncluded(orgId, 1000);
const ago = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

/** Every row of the tables retention reads, as "table:key" strings. */
async function present(): Promise<Set<string>> {
  const rows = await sql<{ k: string }[]>`
    select 'stripe_events:' || id as k from stripe_events
    union all select 'events:' || id from events
    union all select 'webhook_deliveries:' || id from webhook_deliveries
    union all select 'webhook_endpoints:' || id from webhook_endpoints
    union all select 'email_outbox:' || id from email_outbox
    union all select 'sessions:' || id from sessions
    union all select 'billing_requests:' || idempotency_key from billing_requests
    union all select 'usage_hourly:' || to_char(hour, 'YYYY-MM-DD') from usage_hourly
    union all select 'jobs:' || key from graphile_worker._private_jobs where key like '%rt_%'`;
  return new Set(rows.map((r) => r.k));
}

const stripeEvent = (id: string, receivedDaysAgo: number, processed: boolean) => sql`
  insert into stripe_events (id, type, stripe_created_at, payload, received_at, processed_at)
  values (${id}, 'customer.subscription.updated', ${ago(receivedDaysAgo)}, '{}'::jsonb, ${ago(receivedDaysAgo)}, ${processed ? ago(receivedDaysAgo) : null})`;
const event = (id: string, daysAgo: number) => sql`
  insert into events (id, org_id, type, data, created_at) values (${id}, ${orgId}, 'invoice.paid', '{}'::jsonb, ${ago(daysAgo)})`;
const endpoint = (id: string, deletedDaysAgo: number | null) => sql`
  insert into webhook_endpoints (id, org_id, url, event_types, secret, enabled, deleted_at)
  values (${id}, ${orgId}, 'https://example.com/hook', '{invoice.paid}', 'whsec_dGVzdA==', ${deletedDaysAgo === null}, ${deletedDaysAgo === null ? null : ago(deletedDaysAgo)})`;
const delivery = (id: string, to: { event: string; endpoint: string }, status: string, daysAgo: number) => sql`
  insert into webhook_deliveries (id, org_id, endpoint_id, event_id, status, attempts, created_at, updated_at)
  values (${id}, ${orgId}, ${to.endpoint}, ${to.event}, ${status}, 1, ${ago(daysAgo)}, ${ago(daysAgo)})`;
const attempt = (deliveryId: string) => sql`
  insert into webhook_attempts (delivery_id, attempt, succeeded, latency_ms) values (${deliveryId}, 1, true, 12)`;
const email = (id: string, eventId: string, status: string, daysAgo: number) => sql`
  insert into email_outbox (id, org_id, event_id, to_address, subject, text_body, html_body, status, created_at)
  values (${id}, ${orgId}, ${eventId}, 'billing@example.com', 's', 't', 'h', ${status}, ${ago(daysAgo)})`;
const session = (id: string, expiresDaysAgo: number, revoked = false) => sql`
  insert into sessions (id, email, org_id, created_at, expires_at, revoked_at)
  values (${id}, 'person@example.com', ${orgId}, ${ago(expiresDaysAgo + 7)}, ${ago(expiresDaysAgo)}, ${revoked ? new Date().toISOString() : null})`;
const billingRequest = (key: string, hoursAgo: number) => sql`
  insert into billing_requests (org_id, idempotency_key, plan_code, response, created_at)
  values (${orgId}, ${key}, 'growth', '{}'::jsonb, ${new Date(Date.now() - hoursAgo * 3600_000).toISOString()})`;
const hourly = (hour: Date) => sql`
  insert into usage_hourly (org_id, metric, hour, quantity) values (${orgId}, 'api_call', date_trunc('hour', ${hour.toISOString()}::timestamptz), 5)`;
/** A job that used its last attempt `daysAgo`; `cron` makes it a crontab run. */
const failedJob = async (key: string, task: string, cron: boolean, daysAgo: number) => {
  const payload = cron ? { _cron: { ts: ago(daysAgo) } } : { eventId: "evt_rt_dead" };
  await sql`select graphile_worker.add_job(${task}, ${JSON.stringify(payload)}::json, job_key := ${key}::text, max_attempts := 1)`;
  await sql`update graphile_worker._private_jobs set attempts = 1, last_error = 'boom', updated_at = ${ago(daysAgo)} where key = ${key}`;
};

const monthsAgo = (n: number) => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - n, 10));
};

// What each case expects: gone after a run, or kept (and why).
const GONE = [
  "stripe_events:evt_rt_old_done",
  "webhook_deliveries:wd_rt_old_ok",
  "webhook_deliveries:wd_rt_old_failed",
  "events:evt_rt_old_delivered", // its only delivery goes first, in the same run
  "events:evt_rt_old_plain", // its failed delivery goes first too
  "events:evt_rt_old_quiet",
  "webhook_endpoints:we_rt_deleted_long_ago",
  "email_outbox:em_rt_old_sent",
  "email_outbox:em_rt_old_local",
  "sessions:s_rt_expired_long_ago",
  "billing_requests:key_rt_3_days",
  `usage_hourly:${monthsAgo(14).toISOString().slice(0, 10)}`,
  "jobs:rt_cron_old",
];
const KEPT = [
  "stripe_events:evt_rt_old_unprocessed", // its job failed for good: awaiting `ops replay`
  "stripe_events:evt_rt_old_never_converged", // no job left, and never converged: an operator's to look at
  "stripe_events:evt_rt_old_replaying", // converged once, queued again by a replay
  "stripe_events:evt_rt_recent",
  "webhook_deliveries:wd_rt_old_retrying",
  "webhook_deliveries:wd_rt_old_pending",
  "webhook_deliveries:wd_rt_old_retried_by_hand", // failed, and a person's retry is queued
  "webhook_deliveries:wd_rt_recent_ok",
  "events:evt_rt_old_retrying", // a delivery still retrying
  "events:evt_rt_old_mail_pending",
  "events:evt_rt_old_dispatch_queued",
  "events:evt_rt_old_log", // a delivery still pending
  "events:evt_rt_recent",
  "webhook_endpoints:we_live",
  "webhook_endpoints:we_rt_deleted_recently",
  "webhook_endpoints:we_rt_deleted_with_log", // its delivery log is still readable
  "email_outbox:em_rt_old_pending",
  "email_outbox:em_rt_recent_sent",
  "sessions:s_rt_valid",
  "sessions:s_rt_revoked_recently",
  "sessions:s_rt_expired_yesterday",
  "billing_requests:key_rt_12_hours", // inside the 24 h replay window
  "billing_requests:key_rt_30_hours",
  `usage_hourly:${monthsAgo(1).toISOString().slice(0, 10)}`,
  "jobs:evt_rt_old_unprocessed", // the dead-letter queue stays until replayed
  "jobs:rt_cron_recent",
];

async function seed() {
  await stripeEvent("evt_rt_old_done", 100, true);
  await stripeEvent("evt_rt_old_unprocessed", 100, false);
  await failedJob("evt_rt_old_unprocessed", "stripe_event", false, 95);
  await stripeEvent("evt_rt_old_never_converged", 100, false);
  await stripeEvent("evt_rt_old_replaying", 100, true);
  await sql`select graphile_worker.add_job('stripe_event', '{"eventId":"evt_rt_old_replaying"}'::json, job_key := 'evt_rt_old_replaying', run_at := now() + interval '1 hour')`;
  await stripeEvent("evt_rt_recent", 10, true);

  await endpoint("we_live", null);
  await endpoint("we_rt_deleted_long_ago", 40);
  await endpoint("we_rt_deleted_recently", 5);
  await endpoint("we_rt_deleted_with_log", 40);
  for (const id of [
    "evt_rt_old_delivered",
    "evt_rt_old_plain",
    "evt_rt_old_quiet",
    "evt_rt_old_retrying",
    "evt_rt_old_mail_pending",
    "evt_rt_old_dispatch_queued",
    "evt_rt_old_log",
  ])
    await event(id, 100);
  await event("evt_rt_recent", 10);
  await delivery("wd_rt_old_ok", { event: "evt_rt_old_delivered", endpoint: "we_live" }, "succeeded", 100);
  await attempt("wd_rt_old_ok");
  await delivery("wd_rt_old_failed", { event: "evt_rt_old_plain", endpoint: "we_live" }, "failed", 40);
  await delivery("wd_rt_old_retrying", { event: "evt_rt_old_retrying", endpoint: "we_live" }, "retrying", 40);
  await delivery("wd_rt_old_pending", { event: "evt_rt_old_log", endpoint: "we_rt_deleted_with_log" }, "pending", 40);
  await delivery("wd_rt_old_retried_by_hand", { event: "evt_rt_recent", endpoint: "we_live" }, "failed", 40);
  await sql`select graphile_worker.add_job('deliver_webhook', '{"deliveryId":"wd_rt_old_retried_by_hand"}'::json, job_key := 'delivery:wd_rt_old_retried_by_hand')`;
  await delivery("wd_rt_recent_ok", { event: "evt_rt_recent", endpoint: "we_rt_deleted_recently" }, "succeeded", 10);
  await email("em_rt_old_sent", "evt_rt_old_plain", "sent", 100);
  await email("em_rt_old_local", "evt_rt_old_gone_mail", "local", 100);
  await email("em_rt_old_pending", "evt_rt_old_mail_pending", "pending", 100);
  await email("em_rt_recent_sent", "evt_rt_recent", "sent", 10);
  await sql`select graphile_worker.add_job('dispatch_event', '{"eventId":"evt_rt_old_dispatch_queued"}'::json, job_key := 'event:evt_rt_old_dispatch_queued')`;

  await session("s_rt_expired_long_ago", 8);
  await session("s_rt_expired_yesterday", 1);
  await session("s_rt_valid", -6);
  await session("s_rt_revoked_recently", -5, true);

  await billingRequest("key_rt_3_days", 72);
  await billingRequest("key_rt_30_hours", 30);
  await billingRequest("key_rt_12_hours", 12);

  await hourly(monthsAgo(14));
  await hourly(monthsAgo(1));

  await failedJob("rt_cron_old", "report_usage", true, 20);
  await failedJob("rt_cron_recent", "report_usage", true, 2);
}

const PERIODS = { stripeEventsDays: 90, eventsDays: 90, webhookDeliveriesDays: 30, emailsDays: 90, usageHourlyMonths: 13 };
const rowsOf = (r: RetentionReport, table: string) => r.tables.find((t) => t.table === table)?.rows;
const auditCount = async () => (await sql<{ n: number }[]>`select count(*)::int as n from audit_log`)[0].n;

describe("retention", () => {
  test("a dry run counts what is past its period and changes nothing", async () => {
    await seed();
    await sql`insert into audit_log (org_id, actor, action, at) values (${orgId}, 'system', 'test.old_entry', now() - interval '12 years')`;
    const before = await present();
    for (const k of [...GONE, ...KEPT]) expect(before.has(k) ? k : `missing ${k}`).toBe(k);
    const dry = await runRetention({ apply: false, periods: PERIODS });
    expect(dry.applied).toBe(false);
    expect(rowsOf(dry, "stripe_events")).toBe(1);
    expect(rowsOf(dry, "webhook_deliveries")).toBe(2);
    // Each table is counted as it is now: evt_rt_old_delivered waits for its delivery to go.
    expect(rowsOf(dry, "events")).toBe(1);
    expect(rowsOf(dry, "sessions")).toBe(1);
    expect(rowsOf(dry, "usage_hourly")).toBe(1);
    expect(rowsOf(dry, "graphile_worker.jobs (failed cron runs)")).toBe(1);
    expect(await present()).toEqual(before);
  });

  test("old rows go; recent rows and rows something still needs stay; the audit log is untouched", async () => {
    const audit = await auditCount();
    const report = await runRetention({ apply: true, periods: PERIODS });
    expect(report.complete).toBe(true);
    const after = await present();
    for (const k of GONE) expect(after.has(k) ? `still there: ${k}` : k).toBe(k);
    for (const k of KEPT) expect(after.has(k) ? k : `deleted: ${k}`).toBe(k);
    expect(rowsOf(report, "events")).toBe(3);
    expect(rowsOf(report, "email_outbox")).toBe(2);
    // A delivery's attempts go with it.
    expect((await sql`select 1 from webhook_attempts where delivery_id = 'wd_rt_old_ok'`).length).toBe(0);
    expect(await auditCount()).toBe(audit);
  });

  test("a second run deletes nothing and leaves everything as it was (idempotent)", async () => {
    const before = await present();
    const again = await runRetention({ apply: true, periods: PERIODS });
    expect(again.tables.map((t) => t.rows)).toEqual(again.tables.map(() => 0));
    expect(await present()).toEqual(before);
  });

  test("batches are bounded: each deletes at most the batch size, and the run goes on until nothing is left", async () => {
    for (let i = 0; i < 7; i++) await session(`s_rt_batch_${i}`, 30);
    const report = await runRetention({ apply: true, periods: PERIODS, batchSize: 3 });
    const sessions = report.tables.find((t) => t.table === "sessions")!;
    expect(sessions).toMatchObject({ rows: 7, batches: 3 }); // 3 + 3 + 1
    // Tables with nothing to delete cost one (empty) batch each.
    expect(report.tables.find((t) => t.table === "stripe_events")).toMatchObject({ rows: 0, batches: 1 });
  });

  test("a run stops when its time budget is spent, and the next one goes on", async () => {
    await session("s_rt_budget", 30);
    const spent = await runRetention({ apply: true, periods: PERIODS, budgetMs: 0 });
    expect(spent.complete).toBe(false);
    expect(spent.tables.every((t) => t.rows === 0)).toBe(true);
    expect((await present()).has("sessions:s_rt_budget")).toBe(true);
    const next = await runRetention({ apply: true, periods: PERIODS });
    expect(next.complete).toBe(true);
    expect(rowsOf(next, "sessions")).toBe(1);
  });

  test("the hourly cron task deletes with the configured periods", async () => {
    await session("s_rt_cron", 30);
    await stripeEvent("evt_rt_cron_old", 400, true);
    const helpers = { logger: { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } } as unknown as JobHelpers;
    await taskList.retention!({ _cron: { ts: new Date().toISOString() } }, helpers);
    const after = await present();
    expect(after.has("sessions:s_rt_cron")).toBe(false);
    expect(after.has("stripe_events:evt_rt_cron_old")).toBe(false);
    expect(after.has("stripe_events:evt_rt_recent")).toBe(true);
  });

  test("bun run ops retention counts by default and deletes only with --apply", async () => {
    await session("s_rt_cli", 30);
    const ops = async (...args: string[]) => {
      const proc = spawn(["bun", join(import.meta.dir, "../../../cli/ops.ts"), "retention", ...args, "--json"], {
        env: { ...process.env, LOG_LEVEL: "silent" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      expect(code).toBe(0);
      return JSON.parse(out) as RetentionReport;
    };
    const dry = await ops();
    expect(dry.applied).toBe(false);
    expect(rowsOf(dry, "sessions")).toBe(1);
    expect((await present()).has("sessions:s_rt_cli")).toBe(true);
    const applied = await ops("--apply");
    expect(applied).toMatchObject({ applied: true, complete: true });
    expect(rowsOf(applied, "sessions")).toBe(1);
    expect((await present()).has("sessions:s_rt_cli")).toBe(false);
  });
});
