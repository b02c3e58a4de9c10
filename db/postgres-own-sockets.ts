// For the postgres.js patch tests (db/postgres-*.test.ts): a pool on the test database whose
// connections use sockets the test keeps, to close one at the moment it chooses.
import { type Socket, connect as tcpConnect } from "node:net";
import postgres from "postgres";

/** A pool of `options` whose every connection's socket is pushed to `sockets` (newest last). */
export function poolWithOwnSockets(options: postgres.Options<Record<string, never>>): { sql: postgres.Sql; sockets: Socket[] } {
  const url = new URL(process.env.DATABASE_URL!);
  const sockets: Socket[] = [];
  // `socket` is an option of postgres.js's code (connection.js) its type declarations omit: an
  // already connected socket, as it requires.
  const socket = () =>
    new Promise<Socket>((resolve, reject) => {
      const s = tcpConnect(Number(url.port || 5432), url.hostname);
      s.once("connect", () => resolve(s));
      s.once("error", reject);
      sockets.push(s);
    });
  const sql = postgres(process.env.DATABASE_URL!, { ...options, socket } as postgres.Options<Record<string, never>>);
  return { sql, sockets };
}
