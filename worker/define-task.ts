// Every task's boundary: the job's payload is parsed with the task's schema before the task
// runs, so a malformed one (added by SQL, where no type reaches) fails the job with a message
// naming what is wrong, before anything is read or written.
import type { JobHelpers, Task } from "graphile-worker";
import { type JobName, type JobPayload, parseJobPayload } from "../app/server/platform/jobs.server";

export type TaskRun<K extends JobName> = (payload: JobPayload<K>, helpers: JobHelpers) => Promise<void>;

/** The task `name`, running `run` with its parsed payload. */
export function defineTask<K extends JobName>(name: K, run: TaskRun<K>): Task<K> {
  return async (payload, helpers) => run(parseJobPayload(name, payload), helpers);
}
