// "Nothing more will happen" for tests that run the real worker: rather than sleeping long enough,
// wait until graphile-worker's queue holds no job of the tasks concerned that is ready to run or
// running. Work a job causes (an event's dispatch, an email) is added in the same transaction as
// the job's own, so an empty queue means the chain has ended; a job waiting for a later run_at
// (a retry's backoff) or failed for good does not count. A webhook's convergence job never tried
// does, though it waits STRIPE_EVENT_GATHER_MS (during a storm STRIPE_EVENT_STORM_GATHER_MS) before it runs.
import { sql } from "../app/server/platform/db.server";
import type { JobName } from "../app/server/platform/jobs.server";

/** Jobs of `tasks` that are running, or ready to run now. */
export async function busyJobs(tasks: readonly JobName[]): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from graphile_worker.jobs
     where task_identifier = any(${tasks as JobName[]}::text[])
       and (locked_at is not null or (run_at <= now() and attempts < max_attempts)
            or (task_identifier = 'stripe_event' and attempts = 0 and run_at <= now() + interval '5 seconds'))`;
  return row.n;
}

/** Resolves once no job of `tasks` is ready or running; fails after `timeoutMs`, naming them. */
export async function jobsIdle(tasks: readonly JobName[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy = await busyJobs(tasks);
    if (busy === 0) return;
    if (Date.now() > deadline) throw new Error(`${busy} job(s) of ${tasks.join(", ")} still ready or running after ${timeoutMs} ms`);
    await Bun.sleep(25);
  }
}
