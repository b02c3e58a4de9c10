// The worker's task list and crontab. One file per task; each task's payload is declared in
// app/server/platform/jobs.server.ts and parsed before the task runs (worker/define-task.ts).
import type { Task, TaskList } from "graphile-worker";
import type { JobName } from "../app/server/platform/jobs.server";
import { autoTopUp } from "./auto-top-up";
import { deliverWebhook } from "./deliver-webhook";
import { dispatchEvent } from "./dispatch-event";
import { maintainPartitions } from "./maintain-partitions";
import { measureDriftTask } from "./measure-drift";
import { notifyTrials } from "./notify-trials";
import { reportUsage } from "./report-usage";
import { retention } from "./retention";
import { rolloverPeriods } from "./rollover";
import { sendEmail } from "./send-email";
import { sloWatch } from "./slo-watch";
import { stiggPublish, stiggSync } from "./stigg-sync";
import { stripeEvent } from "./stripe-event";

/**
 * The tasks that wait on a party outside our control (an org's webhook receiver, Stigg, the mail
 * server), each attempt for up to its timeout: the worker runs them on slots of their own, so a
 * receiver that never answers cannot hold the slots Stripe's convergence and the usage report need.
 */
export const outboundTasks = {
  deliver_webhook: deliverWebhook,
  stigg_sync: stiggSync,
  stigg_publish: stiggPublish,
  send_email: sendEmail,
} satisfies { [K in OutboundJob]: Task<K> };
type OutboundJob = "deliver_webhook" | "stigg_sync" | "stigg_publish" | "send_email";

/** Everything else: Stripe's convergence, the usage report, the period rollover, upkeep. */
export const coreTasks = {
  maintain_partitions: maintainPartitions,
  measure_drift: measureDriftTask,
  report_usage: reportUsage,
  rollover_periods: rolloverPeriods,
  slo_watch: sloWatch,
  stripe_event: stripeEvent,
  dispatch_event: dispatchEvent,
  auto_top_up: autoTopUp,
  notify_trials: notifyTrials,
  retention,
} satisfies { [K in Exclude<JobName, OutboundJob>]: Task<K> };

/** Every task with a declared payload, each typed by it: a task missing here, or one without a payload, does not compile. */
export const taskList: TaskList = { ...coreTasks, ...outboundTasks } satisfies { [K in JobName]: Task<K> };

export const crontab = [
  // Daily at 03:17 UTC (backfilled within a day if the worker was down).
  "17 3 * * * maintain_partitions ?fill=1d",
  // Every minute: renewals whose webhook has not arrived.
  "* * * * * rollover_periods ?max=1",
  // Every minute: usage deltas to Stripe's billing meter (one job at a time: its own queue).
  "* * * * * report_usage ?max=1&queue=report_usage",
  // Hourly: notices of trials ending within three days (once each; Stripe's webhook may come first).
  "7 * * * * notify_trials ?max=1",
  // Every minute: SLO breaches (alert once per breach) and old SLO buckets dropped.
  "* * * * * slo_watch ?max=1&queue=slo",
  // Every 5 minutes: drift of the newest counters against Stripe's meter.
  "*/5 * * * * measure_drift ?max=1&queue=slo",
  // Hourly: rows past their retention period deleted in small batches (one run at a time).
  "41 * * * * retention ?max=1&queue=retention",
].join("\n");
