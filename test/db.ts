// A fresh, migrated database for one test file (or one bench run), on the Postgres at
// TEST_DATABASE_URL / 127.0.0.1:5432, or on an embedded Postgres when no server is reachable.
// Each one is a copy of a template database migrated once per content of the migrations and functions
// (`msp_tpl_<hash>`), so a new database costs one CREATE DATABASE, not a migration run.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../db/embedded";
import { migrateDatabase } from "../db/migrate";

const PREFIX = "msp_test_";
const TEMPLATE_PREFIX = "msp_tpl_";
const STALE_MS = 2 * 3600_000;
// One builder of a template at a time, across every process using this Postgres.
const TEMPLATE_LOCK = 7245900;

type Admin = ReturnType<typeof postgres>;

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

const urlOf = (adminUrl: string, name: string) => {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
};

/** What the schema is made of: our migrations, our functions and graphile-worker's migrations (its version names them). */
export function migrationsHash(): string {
  const root = join(import.meta.dir, "..");
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(entry.name).update(readFileSync(path));
    }
  };
  walk(join(root, "db/migrations"));
  walk(join(root, "db/functions"));
  hash.update(readFileSync(join(root, "node_modules/graphile-worker/package.json")));
  return hash.digest("hex").slice(0, 16);
}

/**
 * The migrated template for the current migrations, built once (under a lock, under a temporary
 * name renamed when complete, so no one clones a half-migrated one) and then only reused. Each use
 * stamps it; templates of other migrations unused for two hours are dropped.
 */
async function template(admin: Admin, adminUrl: string): Promise<string> {
  const name = `${TEMPLATE_PREFIX}${migrationsHash()}`;
  const exists = async () => (await admin`select 1 from pg_database where datname = ${name}`).length > 0;
  if (!(await exists())) {
    await admin`select pg_advisory_lock(${TEMPLATE_LOCK})`;
    try {
      if (!(await exists())) {
        const building = `${name}_building_${process.pid}`;
        await admin.unsafe(`drop database if exists "${building}" with (force)`);
        await admin.unsafe(`create database "${building}"`);
        await migrateDatabase(urlOf(adminUrl, building));
        await admin.unsafe(`alter database "${building}" rename to "${name}"`);
        await admin.unsafe(`alter database "${name}" with is_template true allow_connections false`);
      }
    } finally {
      await admin`select pg_advisory_unlock(${TEMPLATE_LOCK})`;
    }
  }
  await admin.unsafe(`comment on database "${name}" is '${Date.now()}'`);
  await dropStale(admin, name);
  return name;
}

async function dropStale(admin: Admin, current: string): Promise<void> {
  const rows = await admin<{ datname: string; used: string | null }[]>`
    select datname, shobj_description(oid, 'pg_database') as used from pg_database
     where datname like ${`${PREFIX}%`} or datname like ${`${TEMPLATE_PREFIX}%`}`;
  for (const { datname, used } of rows) {
    if (datname === current) continue;
    // A test database's name carries its birth time; a template's comment its last use (a
    // half-built one has neither and is dropped once its builder is gone for two hours).
    const born = datname.startsWith(PREFIX) ? Number.parseInt(datname.split("_")[2] ?? "", 36) : Number(used ?? 0);
    if (!Number.isFinite(born) || Date.now() - born <= STALE_MS) continue;
    if (datname.startsWith(TEMPLATE_PREFIX)) await admin.unsafe(`alter database "${datname}" with is_template false`).catch(() => {});
    await admin.unsafe(`drop database if exists "${datname}" with (force)`).catch((err: Error) => {
      // Another run dropping the same leftover at the same moment is fine; anything else is said.
      if (!/does not exist|being accessed/.test(err.message)) console.warn(`test db: could not drop ${datname}: ${err.message}`);
    });
  }
}

export async function createTestDatabase(label = "file"): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = await serverUrl();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const tpl = await template(admin, adminUrl);
  const safeLabel = label.replace(/[^a-z0-9]+/gi, "_").slice(-24);
  const name = `${PREFIX}${Date.now().toString(36)}_${safeLabel}_${process.pid}_${Math.random().toString(36).slice(2, 6)}`.toLowerCase();
  await admin.unsafe(`create database "${name}" template "${tpl}"`);
  return {
    url: urlOf(adminUrl, name),
    drop: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
