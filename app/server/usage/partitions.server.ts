// The usage ledger's monthly partitions, prepared ahead (the worker's daily cron job). Serialised
// through an advisory lock: two runs at once (two workers, a manual run beside the cron one)
// would both see a month missing and both create it, and the second would fail.
import { ADVISORY_LOCKS } from "../../../db/advisory-locks";
import { sql } from "../platform/db.server";

export async function prepareUsagePartitions(monthsAhead = 2): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${ADVISORY_LOCKS.partitions})`;
    await tx`select ensure_usage_partitions(${monthsAhead})`;
  });
}
