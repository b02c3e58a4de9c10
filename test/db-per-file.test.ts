// Each test file runs on its own database, a copy of the template migrated once per content of
// the migrations (test/setup.ts, test/db.ts): nothing another file wrote is visible here.
import { expect, test } from "bun:test";
import postgres from "postgres";
import { createOrg } from "../app/server/orgs/orgs.server";
import { sql } from "../app/server/platform/db.server";
import { createTestDatabase, migrationsHash } from "./db";

test("this file's database is its own, named after the file, and the app's pool uses it", async () => {
  const [{ name }] = await sql<{ name: string }[]>`select current_database() as name`;
  expect(name).toMatch(/^msp_test_[a-z0-9]+_test_db_per_file_\d+_[a-z0-9]+$/);
  expect(new URL(process.env.DATABASE_URL!).pathname).toBe(`/${name}`);
});

test("it starts as a migrated copy of the template, with no other file's rows", async () => {
  const [row] = await sql<{ orgs: number; migrations: number; jobs: boolean }[]>`
    select (select count(*) from organisations)::int as orgs,
           (select count(*) from drizzle.__drizzle_migrations)::int as migrations,
           to_regclass('graphile_worker._private_jobs') is not null as jobs`;
  expect(row.orgs).toBe(0);
  expect(row.migrations).toBeGreaterThan(0);
  expect(row.jobs).toBe(true);
  const admin = postgres(process.env.DATABASE_URL!.replace(/\/[^/]+$/, "/postgres"), { max: 1 });
  try {
    const [tpl] = await admin<{ datistemplate: boolean; datallowconn: boolean }[]>`
      select datistemplate, datallowconn from pg_database where datname = ${`msp_tpl_${migrationsHash()}`}`;
    expect(tpl).toEqual({ datistemplate: true, datallowconn: false });
  } finally {
    await admin.end();
  }
});

test("two databases made from the template share no rows", async () => {
  const other = await createTestDatabase("db_per_file_other");
  const client = postgres(other.url, { max: 1, onnotice: () => {} });
  try {
    await createOrg({ id: "org_isolated_here", email: "owner@example.com" });
    expect((await client`select id from organisations`).length).toBe(0);
  } finally {
    await client.end();
    await other.drop();
  }
});
