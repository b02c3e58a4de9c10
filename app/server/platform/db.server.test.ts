// The database's timeouts and what opens its breaker: the hot path's budget is Postgres's own
// statement_timeout (a 503, breaker closed) and, when Postgres does not answer at all, the app's
// deadline; a wait that ran out opens the breaker only when Postgres answered nothing meanwhile.
import { afterAll, expect, test } from "bun:test";
import { closeDatabase, databaseBreaker, hotSql, isDatabaseTimeout, isDatabaseUnavailable, noteDatabaseError, sql, withinHotDeadline } from "./db.server";

afterAll(() => closeDatabase(1));

async function untilClosed(): Promise<void> {
  for (let i = 0; i < 200 && databaseBreaker.isOpen(); i++) await Bun.sleep(10);
  expect(databaseBreaker.isOpen()).toBe(false);
}

const connectTimeout = () => Object.assign(new Error("write CONNECT_TIMEOUT 127.0.0.1:5432"), { code: "CONNECT_TIMEOUT" });

test("a hot statement over its budget is cut off by Postgres: a retryable timeout, not an outage", async () => {
  const started = performance.now();
  const err = await withinHotDeadline(hotSql`select pg_sleep(3)`).catch((e: unknown) => e);
  const ms = performance.now() - started;
  expect([isDatabaseTimeout(err), isDatabaseUnavailable(err), (err as { code: string }).code]).toEqual([true, false, "57014"]);
  expect(ms).toBeGreaterThanOrEqual(900);
  expect(ms).toBeLessThan(1250);
  noteDatabaseError(err);
  expect(databaseBreaker.isOpen()).toBe(false);
});

test("the other paths have the longer statement timeout, and a lock timeout", async () => {
  const [row] = await sql<{ statement: string; lock: string; idle: string }[]>`
    select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock,
           current_setting('idle_in_transaction_session_timeout') as idle`;
  expect(row).toEqual({ statement: "10s", lock: "5s", idle: "30s" });
  const [hot] = await hotSql<{ statement: string }[]>`select current_setting('statement_timeout') as statement`;
  expect(hot.statement).toBe("1s");
});

test("a statement Postgres never answers fails at the deadline, 250 ms after Postgres's own budget", async () => {
  const started = performance.now();
  const err = await withinHotDeadline(new Promise(() => {})).catch((e: unknown) => e);
  const ms = performance.now() - started;
  expect([(err as { code: string }).code, isDatabaseUnavailable(err)]).toEqual(["DEADLINE_EXCEEDED", true]);
  expect(ms).toBeGreaterThanOrEqual(1240);
  expect(ms).toBeLessThan(1500);
});

test("a connect timeout while Postgres answers other statements does not open the breaker", async () => {
  await untilClosed();
  await withinHotDeadline(hotSql`select 1`);
  noteDatabaseError(connectTimeout());
  expect(databaseBreaker.isOpen()).toBe(false);
});

test("a connect timeout when Postgres has answered nothing for a while opens it; the probe closes it again", async () => {
  await untilClosed();
  await withinHotDeadline(hotSql`select 1`);
  await Bun.sleep(300);
  noteDatabaseError(connectTimeout());
  expect(databaseBreaker.isOpen()).toBe(true);
  await untilClosed();
});

test("a lost connection opens it at once, even right after an answer", async () => {
  await untilClosed();
  await withinHotDeadline(hotSql`select 1`);
  noteDatabaseError(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
  expect(databaseBreaker.isOpen()).toBe(true);
  await untilClosed();
});
