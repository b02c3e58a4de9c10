// Keeps the usage ledger's monthly partitions prepared two months ahead, so admissions never
// land in the default partition.
import type { Task } from "graphile-worker";
import { prepareUsagePartitions } from "../app/server/usage/partitions.server";

export const maintainPartitions: Task = async (_payload, helpers) => {
  await prepareUsagePartitions(2);
  helpers.logger.info("usage ledger partitions prepared");
};
