// The job queue as operators see it (ops `jobs`, /api/admin/jobs): graphile-worker's own tables.
import { sql } from "../platform/db.server";

/** Queue depth, lag and permanently failed jobs (graphile-worker's own tables). */
export async function jobStats() {
  const byTask = await sql<{ task: string; queued: number; running: number; failed: number; retrying: number }[]>`
    select task_identifier as task,
           count(*) filter (where locked_at is null and attempts = 0)::int as queued,
           count(*) filter (where locked_at is not null)::int as running,
           count(*) filter (where attempts >= max_attempts)::int as failed,
           count(*) filter (where attempts > 0 and attempts < max_attempts and locked_at is null)::int as retrying
      from graphile_worker.jobs group by task_identifier order by 1`;
  const [lag] = await sql<{ lag_ms: number | null }[]>`
    select (extract(epoch from (now() - min(run_at))) * 1000)::int as lag_ms
      from graphile_worker.jobs where locked_at is null and attempts < max_attempts and run_at <= now()`;
  const failed = await sql<{ id: string; task: string; key: string | null; attempts: number; last_error: string | null; updated_ms: number }[]>`
    select id::text, task_identifier as task, key, attempts, last_error, (extract(epoch from updated_at) * 1000)::float8 as updated_ms
      from graphile_worker.jobs where attempts >= max_attempts order by updated_at desc limit 50`;
  return {
    tasks: byTask,
    lagMs: lag?.lag_ms ?? 0,
    failed: failed.map((f) => ({
      id: f.id,
      task: f.task,
      key: f.key,
      attempts: f.attempts,
      lastError: f.last_error?.split("\n")[0] ?? null,
      updatedAt: new Date(f.updated_ms).toISOString(),
    })),
  };
}
