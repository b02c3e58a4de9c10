// db/functions/ is the current definition of every SQL function: after migrate, the database holds
// exactly those definitions; applying them again changes nothing; a function only a migration
// defines is refused; and a database migrated by the code before db/functions/ existed (old
// parameter and output-column names) migrates to the new definitions, its data intact.
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import { Logger, runMigrations } from "graphile-worker";
import postgres from "postgres";
import { isLive } from "../app/subscription-status";
import { applyFunctions, declaredFunctions, declaredVersion, undeclaredFunctions } from "./functions";
import { migrateDatabase } from "./migrate";

const url = process.env.DATABASE_URL!;
const sql = postgres(url, { max: 2, onnotice: () => {} });
afterAll(() => sql.end());

type Definition = { oid: number; name: string; signature: string; source: string; definition: string };
const definitions = (db: postgres.Sql) =>
  db<Definition[]>`
    select p.oid::int as oid, p.proname as name, p.oid::regprocedure::text as signature,
           p.prosrc as source, pg_get_functiondef(p.oid) as definition
      from pg_proc p where p.pronamespace = 'public'::regnamespace order by p.proname`;

describe("db/functions", () => {
  test("after migrate, every function in the database is the one db/functions declares, and none is missing", async () => {
    const inDb = await definitions(sql);
    const declared = declaredFunctions();
    expect(declared.map((f) => f.name).sort()).toEqual(inDb.map((f) => f.name).sort());
    for (const fn of declared) {
      const rows = inDb.filter((f) => f.name === fn.name);
      expect(rows.length).toBe(1);
      expect(rows[0].source).toBe(fn.body);
    }
    expect(await undeclaredFunctions(sql)).toEqual([]);
  });

  test("no short names are left in parameters or output columns", async () => {
    const rows = await sql<{ signature: string; names: string[] }[]>`
      select p.oid::regprocedure::text as signature, coalesce(p.proargnames, '{}') as names
        from pg_proc p where p.pronamespace = 'public'::regnamespace`;
    // One letter, a letter and an underscore (c_used, d_m; p_ marks a parameter), or the old abbreviations.
    const short = (name: string) => name.length === 1 || /^[a-oq-z]_/.test(name) || ["idx", "ps", "pe", "sub_status"].includes(name);
    // The two outputs every released app reads keep their names (see 09_record_usage.sql).
    const released = (signature: string, name: string) => /^(record_usage|deny_or_replay)\(/.test(signature) && ["idx", "sub_status"].includes(name);
    expect(rows.filter((r) => r.names.some((n) => short(n) && !released(r.signature, n))).map((r) => r.signature)).toEqual([]);
  });

  test("applying the functions again (and migrating again) changes nothing and drops nothing", async () => {
    const before = await definitions(sql);
    await applyFunctions(sql);
    await migrateDatabase(url);
    const after = await definitions(sql);
    // Same oids: every function was replaced in place, not dropped and created.
    expect(after).toEqual(before);
  });

  test("a function only some migration defines is reported by migrate, and the tests' check finds it", async () => {
    await sql`create function stray_helper(p_value int) returns int language sql as $$ select p_value $$`;
    const warned: string[] = [];
    const warn = console.warn;
    console.warn = (line: string) => warned.push(line);
    try {
      expect(await applyFunctions(sql)).toBe("applied");
      expect(warned.join("\n")).toContain("stray_helper(integer)");
      expect(await undeclaredFunctions(sql)).toEqual(["stray_helper(integer)"]);
    } finally {
      console.warn = warn;
      await sql`drop function stray_helper`;
    }
  });

  test("is_live in SQL is isLive in TypeScript, for every status Stripe has", async () => {
    const statuses = ["active", "trialing", "past_due", "canceled", "unpaid", "incomplete", "incomplete_expired", "paused"];
    const rows = await sql<{ status: string; live: boolean }[]>`select s as status, is_live(s) as live from unnest(${statuses}::text[]) as s`;
    expect(rows.map((r) => [r.status, r.live])).toEqual(statuses.map((s) => [s, isLive(s)]));
  });

  test("a past_due subscription admits usage until grace_ends, then not (org_period)", async () => {
    const live = async (status: string, grace: string) => {
      const [row] = await sql<{ live: boolean }[]>`
        select (org_period(jsonb_populate_record(null::subscriptions, jsonb_build_object(
                  'org_id', 'org_x', 'plan_code', 'starter', 'status', ${status}::text, 'cancel_at_period_end', false,
                  'period_start', now() - interval '2 days', 'period_end', now() + interval '28 days')),
                now(), ${grace}::interval)).live as live`;
      return row.live;
    };
    expect(await live("past_due", "3 days")).toBe(true);
    expect(await live("past_due", "1 day")).toBe(false);
    expect(await live("active", "1 day")).toBe(true);
    expect(await live("unpaid", "3 days")).toBe(false);
  });

  test("a yearly subscription's allowance is the month holding now, on its anniversary day; Stripe's billed year is kept beside it", async () => {
    const at = async (interval: string, now: string) => {
      const [row] = await sql<{ start: string; end: string; billed_start: string; billed_end: string; live: boolean }[]>`
        select to_char(p.period_start at time zone 'UTC', 'YYYY-MM-DD') as start, to_char(p.period_end at time zone 'UTC', 'YYYY-MM-DD') as end,
               to_char(p.billing_period_start at time zone 'UTC', 'YYYY-MM-DD') as billed_start,
               to_char(p.billing_period_end at time zone 'UTC', 'YYYY-MM-DD') as billed_end, p.live
          from org_period(jsonb_populate_record(null::subscriptions, jsonb_build_object(
                 'org_id', 'org_x', 'plan_code', 'starter', 'status', 'active', 'cancel_at_period_end', false,
                 'billing_interval', ${interval}::text,
                 'period_start', '2027-01-31T10:00:00Z'::timestamptz,
                 'period_end', case when ${interval} = 'year' then '2028-01-31T10:00:00Z'::timestamptz else '2027-02-28T10:00:00Z'::timestamptz end)),
               ${now}::timestamptz, '3 days'::interval) p`;
      return row;
    };
    // Month by month from Jan 31: the day clamps in short months and comes back after.
    expect(await at("year", "2027-01-31T10:00:00Z")).toMatchObject({ start: "2027-01-31", end: "2027-02-28", billed_end: "2028-01-31" });
    expect(await at("year", "2027-02-28T09:59:59Z")).toMatchObject({ start: "2027-01-31", end: "2027-02-28" });
    expect(await at("year", "2027-02-28T10:00:00Z")).toMatchObject({ start: "2027-02-28", end: "2027-03-31" });
    expect(await at("year", "2027-04-15T00:00:00Z")).toMatchObject({ start: "2027-03-31", end: "2027-04-30" });
    expect(await at("year", "2027-12-31T10:00:00Z")).toMatchObject({ start: "2027-12-31", end: "2028-01-31", billed_start: "2027-01-31" });
    // Before the billed year starts (a mirror ahead of the clock): its first month.
    expect(await at("year", "2026-12-01T00:00:00Z")).toMatchObject({ start: "2027-01-31", end: "2027-02-28" });
    // Past the billed year (renewal webhook late): the next year's first month.
    expect(await at("year", "2028-02-01T00:00:00Z")).toMatchObject({
      start: "2028-01-31",
      end: "2028-02-29",
      billed_start: "2028-01-31",
      billed_end: "2029-01-31",
      live: true,
    });
    // A monthly one: the allowance is the billed month.
    expect(await at("month", "2027-02-10T00:00:00Z")).toMatchObject({
      start: "2027-01-31",
      end: "2027-02-28",
      billed_start: "2027-01-31",
      billed_end: "2027-02-28",
    });
  });

  for (const [fn, call] of [
    ["period_usage_of", "period_usage_of('org_none', '3 days')"],
    ["period_counter_of", "period_counter_of('org_none', 'api_call', '3 days')"],
  ]) {
    test(`${fn} is inlined into the query that reads it (one plan, no function call of its own)`, async () => {
      // A plpgsql wrapper (or anything that stops Postgres inlining it) cost the entitlements read
      // a fifth of its rate: the plan must read the tables directly.
      const rows = await sql.unsafe<{ "QUERY PLAN": string }[]>(`explain select * from ${call}`);
      const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      expect(plan).toContain("subscriptions");
      expect(plan).toContain("usage_counters");
      expect(plan).not.toContain(`Function Scan on ${fn}`);
    });
  }

  test("epoch_ms is the millisecond Date takes, exactly, and inlined", async () => {
    // Whole seconds (Stripe's period bounds), whole and part milliseconds (now()), over 20 years.
    const [row] = await sql<{ differ: number; total: number }[]>`
      with sample as (
        select timestamptz '2020-01-01' + random() * interval '20 years' as at from generate_series(1, 20000)
        union all select date_trunc('milliseconds', timestamptz '2020-01-01' + random() * interval '20 years') from generate_series(1, 20000)
        union all select date_trunc('second', timestamptz '2020-01-01' + random() * interval '20 years') from generate_series(1, 20000))
      select count(*) filter (where epoch_ms(at) <> floor((extract(epoch from at) * 1000)::float8))::int as differ, count(*)::int as total
        from sample`;
    expect(row).toEqual({ differ: 0, total: 60000 });
    const [known] = await sql<{ ms: number }[]>`select epoch_ms('2026-12-06 19:48:53.634999+00') as ms`;
    expect(new Date(known.ms).toISOString()).toBe("2026-12-06T19:48:53.634Z");
    const plan = (await sql.unsafe<{ "QUERY PLAN": string }[]>("explain verbose select epoch_ms(now())")).map((r) => r["QUERY PLAN"]).join("\n");
    expect(plan).toContain("date_part");
    expect(plan).not.toContain("epoch_ms");
  });

  test("version.json's sha256 is the files' own: a changed function needs a new version", () => {
    // The files' names and contents, in apply order.
    const hash = createHash("sha256");
    for (const fn of declaredFunctions()) hash.update(`${fn.file}\n${fn.sql}\n`);
    expect({ sha256: hash.digest("hex") }).toEqual({ sha256: declaredVersion().sha256 });
  });

  test("a database holding a newer set is left as it is; the same version with other contents is refused", async () => {
    const { version } = declaredVersion();
    await sql`create or replace function usage_threshold_crossed(p_before bigint, p_after bigint, p_included bigint)
              returns boolean language sql immutable as $$ select false $$`;
    try {
      await sql`update sql_functions_version set version = ${version + 1}`;
      expect(await applyFunctions(sql)).toBe("newer-in-database");
      const [row] = await sql<{ source: string }[]>`select prosrc as source from pg_proc where proname = 'usage_threshold_crossed'`;
      expect(row.source.trim()).toBe("select false");
      await sql`update sql_functions_version set version = ${version}, sha256 = 'other'`;
      await expect(applyFunctions(sql)).rejects.toThrow(/version \d+ is in the database with other contents/);
    } finally {
      await sql`update sql_functions_version set version = ${version - 1}`;
      expect(await applyFunctions(sql)).toBe("applied");
    }
    const [row] = await sql<{ source: string }[]>`select prosrc as source from pg_proc where proname = 'usage_threshold_crossed'`;
    expect(row.source).toBe(declaredFunctions().find((f) => f.name === "usage_threshold_crossed")!.body);
  });
});

// The migrations a database of that era could hold: those before 0021, which changed
// usage_hourly's key and so drops the record_usage bodies written against the old one (the
// new ones come from db/functions/ in the same migrate).
const FIRST_AFTER_THAT_ERA = 21;
function migrationsOfThatEra(): string {
  const source = fileURLToPath(new URL("./migrations", import.meta.url));
  const folder = mkdtempSync(join(tmpdir(), "migrations-prev-"));
  cpSync(source, folder, { recursive: true });
  const journalPath = join(folder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { idx: number }[] };
  journal.entries = journal.entries.filter((entry) => entry.idx < FIRST_AFTER_THAT_ERA);
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}

describe("a database migrated before db/functions/ existed", () => {
  const name = `${new URL(url).pathname.slice(1)}_prev`.slice(0, 63);
  const prevUrl = Object.assign(new URL(url), { pathname: `/${name}` }).toString();
  const prevMigrations = migrationsOfThatEra();
  afterAll(async () => {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
    rmSync(prevMigrations, { recursive: true, force: true });
  });

  test("migrates in place, keeping its usage, answering replays and the previous release's query", async () => {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
    await sql.unsafe(`create database "${name}"`);
    const prev = postgres(prevUrl, { max: 1, onnotice: () => {} });
    try {
      // What migrate did before: the migrations only (the functions as the last migration left them).
      await migrate(drizzle(prev), { migrationsFolder: prevMigrations });
      await runMigrations({ connectionString: prevUrl, logger: new Logger(() => () => {}) });
      const [old] = await prev<{ result: string }[]>`select pg_get_function_result('record_usage'::regproc) as result`;
      expect(old.result).toContain("idx integer");
      await prev`insert into plans (code, name, price_monthly, currency, renews_as) values ('p', 'P', 0, 'usd', 'p')`;
      await prev`insert into plan_units (plan_code, metric, included) values ('p', 'api_call', 5)`;
      await prev`insert into organisations (id, name) values ('org_prev', 'Prev')`;
      await prev`insert into subscriptions (org_id, plan_code, status, period_start, period_end)
                 values ('org_prev', 'p', 'active', now() - interval '1 day', now() + interval '20 days')`;
      const first = await prev<{ idx: number; outcome: string }[]>`
        select idx, outcome from record_usage('{org_prev,org_prev}', '{r1,r2}', '{api_call,api_call}', '{2,2}', '7 days')`;
      expect(first.map((r) => r.outcome)).toEqual(["admitted", "admitted"]);

      await migrateDatabase(prevUrl);

      const after = await definitions(prev);
      for (const fn of declaredFunctions()) expect(after.find((f) => f.name === fn.name)?.source).toBe(fn.body);
      // The query an app process of the previous release sends still works (a rolling upgrade).
      const rows = await prev<{ idx: number; outcome: string; used: number; sub_status: string }[]>`
        select idx, outcome, used::int, sub_status from record_usage('{org_prev,org_prev,org_prev}', '{r1,r3,r4}',
               '{api_call,api_call,api_call}', '{2,1,1}', '7 days') order by idx`;
      expect([...rows]).toEqual([
        { idx: 1, outcome: "replayed", used: 2, sub_status: "active" },
        { idx: 2, outcome: "admitted", used: 5, sub_status: "active" },
        { idx: 3, outcome: "denied", used: 5, sub_status: "active" },
      ]);
      const [quota] = await prev<{ used: number; included: number }[]>`
        select used::int, included::int from quota_of('org_prev', 'api_call', '7 days')`;
      expect(quota).toEqual({ used: 5, included: 5 });
      const [state] = await prev<{ prior_used_after: number }[]>`
        select prior_used_after::int from usage_state('{org_prev}', '{r2}', '{api_call}', '{2}', '7 days', now())`;
      expect(state.prior_used_after).toBe(4);
    } finally {
      await prev.end();
    }
  });
});
