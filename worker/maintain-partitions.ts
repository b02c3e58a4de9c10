// Keeps the usage ledger's monthly partitions prepared two months ahead, so admissions never
// land in the default partition.
import type { Task } from "graphile-worker";

export const maintainPartitions: Task = async (_payload, helpers) => {
  await helpers.withPgClient((client) => client.query("select ensure_usage_partitions(2)"));
  helpers.logger.info("usage ledger partitions prepared");
};
