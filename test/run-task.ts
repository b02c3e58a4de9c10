// Runs one worker task once, as the worker would (Sentry initialised from the environment), and
// exits: lets a test drive a cron task without waiting for the minute.
import { flushSentry, initSentry } from "../app/server/observe/sentry.server";
import { sql } from "../app/server/platform/db.server";
import { taskList } from "../worker/tasks";

const name = process.argv[2];
const task = name ? taskList[name] : undefined;
if (!task) {
  console.error(`usage: bun test/run-task.ts <task>; one of ${Object.keys(taskList).join(", ")}`);
  process.exit(1);
}
await initSentry("worker");
await task({}, {} as never);
await flushSentry(5000);
await sql.end({ timeout: 2 });
process.exit(0);
