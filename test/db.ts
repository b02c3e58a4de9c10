// A fresh, migrated database for one test run (or one bench run), on the Postgres at
// TEST_DATABASE_URL / 127.0.0.1:5432, or on an embedded Postgres when no server is reachable.
import postgres from "postgres";
import { migrateDatabase } from "../db/migrate";
import { startEmbeddedPostgres } from "../db/embedded";

const PREFIX = "msp_test_";

async function reachable(url: string): Promise<boolean> {
  const c = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await c`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await c.end({ timeout: 1 });
  }
}

async function serverUrl(): Promise<string> {
  const candidate = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  if (await reachable(candidate)) return candidate;
  const embedded = await startEmbeddedPostgres({ dir: ".data/test-pg", port: 54329, database: "postgres" });
  return embedded.url;
}

export async function createTestDatabase(label = "run"): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = await serverUrl();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  // Leftovers of runs that were killed: anything older than two hours.
  const old = await admin<{ datname: string }[]>`select datname from pg_database where datname like ${`${PREFIX}%`}`;
  for (const { datname } of old) {
    const born = Number.parseInt(datname.split("_")[2] ?? "", 36);
    if (Number.isFinite(born) && Date.now() - born > 2 * 3600_000) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
  }
  const name = `${PREFIX}${Date.now().toString(36)}_${label}_${process.pid}`;
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrateDatabase(url.toString());
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
