// Keeps the usage ledger's monthly partitions prepared two months ahead, so admissions never
// land in the default partition.
import { prepareUsagePartitions } from "../app/server/usage/partitions.server";
import { defineTask } from "./define-task";

export const maintainPartitions = defineTask("maintain_partitions", async (_payload, helpers) => {
  await prepareUsagePartitions(2);
  helpers.logger.info("usage ledger partitions prepared");
});
