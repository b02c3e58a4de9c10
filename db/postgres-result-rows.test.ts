// A postgres.js query whose result is cut off after rows arrived, as patched in
// patches/postgres@3.4.9.patch. postgres.js counts a result's rows in one variable, reset only when
// a query completed: a query that failed after its first rows had arrived (a statement timeout, an
// error in a later row, a connection cut) left its count, and the next query on that connection
// stored its rows after that many holes. `const [row] = await sql…` then read undefined: a live
// subscription answered as none (402 SUBSCRIPTION_INACTIVE), a history read a 500.
// Rows arrive before the error only past Postgres's 8 KB output buffer: each row here is 1 KB.
import { afterEach, expect, test } from "bun:test";
import postgres from "postgres";
import { poolWithOwnSockets } from "./postgres-own-sockets";

let sql: postgres.Sql | null = null;
afterEach(async () => {
  await sql?.end({ timeout: 0 });
  sql = null;
});

test("a query that fails after its first rows leaves none of them to the next query", async () => {
  sql = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  // Rows 1–49 are sent (49 KB), then row 50 divides by zero.
  const failing = sql`select g, repeat('x', 1000) as pad, 1 / (50 - g) as boom from generate_series(1, 100) g`;
  await expect(failing).rejects.toThrow("division by zero");
  const next = await sql`select 1 as one`;
  expect(next.length).toBe(1);
  expect([...next]).toEqual([{ one: 1 }]);
});

test("a connection cut off in the middle of a result leaves none of its rows to the next query", async () => {
  const own = poolWithOwnSockets({
    max: 1,
    // Without the type fetch a reconnect would otherwise run first (and take the holes itself).
    fetch_types: false,
    backoff: () => 0,
    onnotice: () => {},
  });
  const sockets = own.sockets;
  sql = own.sql;
  // Rows 1–49 arrive, then row 50 waits 10 s: the connection is cut while it waits.
  const cut = sql`select g, repeat('x', 1000) as pad, pg_sleep(case when g = 50 then 10 else 0 end) from generate_series(1, 100) g`.then(
    () => "answered",
    (err: postgres.PostgresError) => err.code,
  );
  await Bun.sleep(300);
  sockets[0].destroy();
  expect(await cut).toBe("CONNECTION_CLOSED");
  const next = await sql`select 1 as one`;
  expect(next.length).toBe(1);
  expect([...next]).toEqual([{ one: 1 }]);
});
