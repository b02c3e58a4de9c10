// The worker's task list at its boundary, in-process: every task has a declared payload and its
// schema, a malformed payload (jobs added by SQL are checked by no type) fails the task with a
// message naming the task and the field before anything is read or written, and every crontab
// entry names a task that exists and hands it a payload its schema accepts.
import { describe, expect, test } from "bun:test";
import { type JobHelpers, parseCrontab, type WorkerUtils } from "graphile-worker";
import { sql } from "../app/server/platform/db.server";
import { type JobName, jobPayloads, MalformedJobPayload, parseJobPayload } from "../app/server/platform/jobs.server";
import { orgWithKey } from "../test/factories";
import { defineTask } from "./define-task";
import { crontab, taskList } from "./tasks";

const warnings: string[] = [];
const helpers = {
  logger: { info: () => {}, debug: () => {}, error: () => {}, warn: (message: string) => warnings.push(message) },
} as unknown as JobHelpers;

const names = Object.keys(taskList).sort();
const declared = Object.keys(jobPayloads).sort() as JobName[];
const cronTasks = declared.filter((name) => jobPayloads[name].safeParse({}).success);
// The tasks whose payload names a row: their one field, as each schema declares it.
const idTasks = declared.filter((name) => !cronTasks.includes(name));
const idField = (name: JobName) => Object.keys((jobPayloads[name] as { shape: object }).shape)[0];

/** Every table's rows, and which tables exist: what a task that ran would have changed. */
async function fingerprint(): Promise<string> {
  const tables = await sql<{ name: string }[]>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1`;
  const parts: string[] = [];
  for (const { name } of tables) {
    const [row] = await sql.unsafe<{ rows: string }[]>(`select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as rows from "${name}" t`);
    parts.push(`${name}:${row.rows}`);
  }
  const [jobs] = await sql<{ rows: string }[]>`select md5(coalesce(string_agg(j::text, '|' order by j.id), '')) as rows from graphile_worker._private_jobs j`;
  return [...parts, `jobs:${jobs.rows}`].join("\n");
}

describe("worker tasks", () => {
  test("every task in the list has a declared payload schema, and every declared payload a task", () => {
    expect(names.length).toBeGreaterThan(0);
    expect(names).toEqual(declared);
    // The payloads graphile-worker's own enqueuers take are the declared ones (tsc checks this).
    const enqueue = (utils: WorkerUtils) => {
      // @ts-expect-error a stripe_event job needs its eventId
      void utils.addJob("stripe_event", {});
      // @ts-expect-error an outbox email's id is a string
      void utils.addJob("send_email", { emailId: 42 });
      void utils.addJob("stigg_sync", { orgId: "org_1" });
    };
    expect(enqueue).toBeFunction();
  });

  test("a malformed payload fails each task with a message naming the task and the field, and changes nothing", async () => {
    expect(idTasks).toEqual(["auto_top_up", "deliver_webhook", "dispatch_event", "send_email", "stigg_sync", "stripe_event"]);
    // Work a task that ran would do: notify_trials would emit this trial's ending notice.
    const { orgId } = await orgWithKey({ plan: "starter" });
    await sql`update subscriptions set status = 'trialing', trial_end = now() + interval '2 days' where org_id = ${orgId}`;
    const before = await fingerprint();
    const cases: [JobName, unknown, string][] = [];
    for (const name of idTasks) {
      const field = idField(name);
      cases.push([name, {}, `${field}: Invalid input: expected string, received undefined`]);
      cases.push([name, { [field]: 42 }, `${field}: Invalid input: expected string, received number`]);
      cases.push([name, { [field]: "" }, `${field}: Too small`]);
    }
    for (const name of cronTasks) {
      cases.push([name, { _cron: "yesterday" }, "_cron: Invalid input: expected object, received string"]);
      cases.push([name, [], "(payload): Invalid input: expected object, received array"]);
    }
    for (const [name, payload, message] of cases) {
      const task = taskList[name]!;
      const err = await Promise.resolve(task(payload as never, helpers)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MalformedJobPayload);
      expect((err as Error).message).toStartWith(`malformed ${name} job payload: `);
      expect((err as Error).message).toContain(message);
    }
    expect(await fingerprint()).toBe(before);
  });

  test("a well-formed payload reaches its task", async () => {
    await taskList.stripe_event!({ eventId: "evt_never_stored" }, helpers);
    expect(warnings).toEqual(["stored event evt_never_stored not found; nothing to do"]);
    // Extra fields are tolerated (older or newer enqueuers), and dropped before the task sees them.
    expect(parseJobPayload("stigg_sync", { orgId: "org_1", extra: true })).toEqual({ orgId: "org_1" });
  });

  test("a task's error that Postgres could not store as the job's last_error is made storable", async () => {
    // graphile-worker writes the message with its "fail the job" query; one Postgres refuses
    // leaves the job locked by a live worker, never retried.
    const failing = defineTask("stigg_sync", async () => {
      throw new Error("answered \u0000 and \uD800 alone");
    });
    const err = await Promise.resolve(failing({ orgId: "org_1" }, helpers)).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe("answered \uFFFD and \uFFFD alone");
    const [row] = await sql<{ stored: string }[]>`select (${JSON.stringify({ message: err?.message })}::json ->> 'message') as stored`;
    expect(row.stored).toBe("answered \uFFFD and \uFFFD alone");
    // A thrown value that is not an Error (graphile-worker stores String(value)) the same way.
    const throwsText = defineTask("stigg_sync", async () => {
      throw "down \u0000";
    });
    const text = await Promise.resolve(throwsText({ orgId: "org_1" }, helpers)).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect([text instanceof Error, text?.message]).toEqual([true, "down \uFFFD"]);
  });

  test("every crontab entry names a task in the list, with a payload its schema accepts", () => {
    const items = parseCrontab(crontab);
    expect(items.length).toBe(crontab.split("\n").length);
    for (const item of items) {
      expect(names).toContain(item.task);
      // What graphile-worker's cron adds to the entry's own payload.
      const payload = { ...item.payload, _cron: { ts: new Date().toISOString(), backfilled: false } };
      expect(() => parseJobPayload(item.task as JobName, payload)).not.toThrow();
    }
  });
});
