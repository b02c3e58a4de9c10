// The worker's task list and crontab. One file per task; payloads typed through
// GraphileWorker.Tasks.
import type { TaskList } from "graphile-worker";
import { maintainPartitions } from "./maintain-partitions";

export const taskList: TaskList = {
  maintain_partitions: maintainPartitions,
};

// Daily at 03:17 UTC, and at start (the runner backfills a missed run within a day).
export const crontab = ["17 3 * * * maintain_partitions ?fill=1d"].join("\n");
