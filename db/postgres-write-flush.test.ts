// A postgres.js connection whose socket closes while a write waits for its flush, as patched in
// patches/postgres@3.4.9.patch. postgres.js buffers small writes and flushes them on an immediate,
// scheduled only when none is pending; closed() cancelled that immediate but left it marked
// pending, so every later connect of that connection buffered its startup message, never sent it,
// and ended in CONNECT_TIMEOUT: one query failed per connect_timeout, for good. After a Postgres
// restart under load this was the hot path's late 503, one every 5 s (issue 21; docs/operations.md).
// Reproduced exactly: the test's own socket (postgres.js's `socket` option) reports its close in
// the same turn as the query's write, before the flush.
import { afterEach, expect, test } from "bun:test";
import type postgres from "postgres";
import { poolWithOwnSockets } from "./postgres-own-sockets";

let sql: postgres.Sql | null = null;
afterEach(async () => {
  await sql?.end({ timeout: 0 });
  sql = null;
});

test("a socket closed while a write waits for its flush leaves a connection that connects again", async () => {
  const own = poolWithOwnSockets({ max: 1, connect_timeout: 2, onnotice: () => {} });
  const sockets = own.sockets;
  sql = own.sql;
  expect([...(await sql`select 1 as one`)]).toEqual([{ one: 1 }]);

  // Immediates run in order: this one, queued first, reports the close before postgres.js's flush
  // of the query below runs (closed() then cancels it, as when the server's close arrives first).
  const socket = sockets[0];
  setImmediate(() => {
    socket.emit("close", false);
    socket.destroy();
  });
  const cut = await sql`select 2 as two`.catch((err: { code?: string }) => err);
  expect(cut).toMatchObject({ code: "CONNECTION_CLOSED" });

  // The same connection (max: 1) connects again and answers; unpatched: CONNECT_TIMEOUT after 2 s.
  const started = performance.now();
  expect([...(await sql`select 3 as three`)]).toEqual([{ three: 3 }]);
  expect(sockets.length).toBe(2);
  expect(performance.now() - started).toBeLessThan(1500);
}, 10_000);
