// Every task's boundary: the job's payload is parsed with the task's schema before the task
// runs, so a malformed one (added by SQL, where no type reaches) fails the job with a message
// naming what is wrong, before anything is read or written.
import type { JobHelpers, Task } from "graphile-worker";
import { type JobName, type JobPayload, parseJobPayload, postgresText } from "../app/server/platform/jobs.server";

export type TaskRun<K extends JobName> = (payload: JobPayload<K>, helpers: JobHelpers) => Promise<void>;

/** The task `name`, running `run` with its parsed payload. */
export function defineTask<K extends JobName>(name: K, run: TaskRun<K>): Task<K> {
  return async (payload, helpers) => {
    try {
      await run(parseJobPayload(name, payload), helpers);
    } catch (err) {
      // graphile-worker stores the message as the job's last_error: one Postgres cannot store
      // would leave the job locked, never retried (postgresText).
      if (!(err instanceof Error)) throw new Error(postgresText(String(err)));
      if (postgresText(err.message) !== err.message) err.message = postgresText(err.message);
      throw err;
    }
  };
}
