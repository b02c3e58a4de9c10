// The worker's task list and crontab. One file per task.
import type { TaskList } from "graphile-worker";
import { maintainPartitions } from "./maintain-partitions";
import { measureDriftTask } from "./measure-drift";
import { reportUsage } from "./report-usage";
import { rolloverPeriods } from "./rollover";
import { sloWatch } from "./slo-watch";
import { stiggSync } from "./stigg-sync";
import { stripeEvent } from "./stripe-event";

export const taskList: TaskList = {
  maintain_partitions: maintainPartitions,
  measure_drift: measureDriftTask,
  report_usage: reportUsage,
  rollover_periods: rolloverPeriods,
  slo_watch: sloWatch,
  stigg_sync: stiggSync,
  stripe_event: stripeEvent,
};

export const crontab = [
  // Daily at 03:17 UTC (backfilled within a day if the worker was down).
  "17 3 * * * maintain_partitions ?fill=1d",
  // Every minute: renewals whose webhook has not arrived.
  "* * * * * rollover_periods ?max=1",
  // Every minute: usage deltas to Stripe's billing meter (one job at a time: its own queue).
  "* * * * * report_usage ?max=1&queue=report_usage",
  // Every minute: SLO breaches (alert once per breach) and old SLO buckets dropped.
  "* * * * * slo_watch ?max=1&queue=slo",
  // Every 5 minutes: drift of the newest counters against Stripe's meter.
  "*/5 * * * * measure_drift ?max=1&queue=slo",
].join("\n");
