// The current definitions of our SQL functions live in db/functions/*.sql, one function a file;
// migrations are only the history of the schema. applyFunctions() runs every file, in file-name
// order, after the migrations, on every migrate, in one transaction, so the database always
// holds exactly what those files say. The files are CREATE OR REPLACE, so applying them again
// changes nothing; Postgres refuses CREATE OR REPLACE when a parameter's name or the output
// columns change, so then the old signature is dropped and the function created again, in the
// same transaction (callers never see it missing).
//
// db/functions/version.json numbers the set (with its sha256). The database remembers the version
// it holds (sql_functions_version), and a migrate from an older checkout (a rollback, a stale
// machine) leaves a newer set in place instead of putting old bodies under newer app processes.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Sql } from "postgres";

const folder = fileURLToPath(new URL("./functions", import.meta.url));
const CREATE = /^CREATE OR REPLACE FUNCTION\s+(?:public\.)?([a-z_][a-z0-9_]*)\s*\(/gim;
// What Postgres answers when CREATE OR REPLACE would change a signature it cannot change in place.
const INVALID_FUNCTION_DEFINITION = "42P13";

export type DeclaredFunction = { file: string; name: string; sql: string; body: string };

/** The function files, in the order they are applied, each with its function's name and body. */
export function declaredFunctions(): DeclaredFunction[] {
  return readdirSync(folder)
    .filter((file) => file.endsWith(".sql"))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(folder, file), "utf8");
      const names = [...sql.matchAll(CREATE)].map((m) => m[1]);
      if (names.length !== 1) throw new Error(`db/functions/${file}: expected one CREATE OR REPLACE FUNCTION, found ${names.length}`);
      const start = sql.indexOf("$$");
      const end = sql.lastIndexOf("$$");
      if (start < 0 || end <= start) throw new Error(`db/functions/${file}: the body must be quoted with $$`);
      return { file, name: names[0], sql, body: sql.slice(start + 2, end) };
    });
}

/** The set's declared version, and the sha256 its files must have (a test holds the two together). */
export function declaredVersion(): { version: number; sha256: string } {
  return JSON.parse(readFileSync(join(folder, "version.json"), "utf8")) as { version: number; sha256: string };
}

/** Functions of the current schema (not an extension's) that no file of db/functions declares. */
export async function undeclaredFunctions(sql: Sql): Promise<string[]> {
  const declared = declaredFunctions().map((f) => f.name);
  const rows = await sql<{ signature: string }[]>`
    select p.oid::regprocedure::text as signature
      from pg_proc p
     where p.pronamespace = current_schema()::regnamespace
       and not (p.proname = any(${declared}::text[]))
       and not exists (select 1 from pg_depend d
                        where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
     order by 1`;
  return rows.map((r) => r.signature);
}

/**
 * Creates or replaces every declared function, in one transaction, unless the database already
 * holds a newer set. Returns what it did.
 */
export async function applyFunctions(sql: Sql): Promise<"applied" | "newer-in-database"> {
  const functions = declaredFunctions();
  const { version, sha256 } = declaredVersion();
  return sql.begin(async (tx) => {
    await tx`create table if not exists sql_functions_version (
               id boolean primary key default true check (id),
               version int not null,
               sha256 text not null,
               applied_at timestamptz not null default now())`;
    const [held] = await tx<{ version: number; sha256: string }[]>`select version, sha256 from sql_functions_version for update`;
    if (held && held.version > version) {
      console.warn(`db/functions: the database holds version ${held.version}, newer than this checkout's ${version}; left as it is`);
      return "newer-in-database" as const;
    }
    if (held && held.version === version && held.sha256 !== sha256) {
      throw new Error(`db/functions: version ${version} is in the database with other contents; bump db/functions/version.json`);
    }
    for (const fn of functions) {
      try {
        await tx.savepoint((sp) => sp.unsafe(fn.sql));
      } catch (err) {
        if ((err as { code?: string }).code !== INVALID_FUNCTION_DEFINITION) throw err;
        // A renamed parameter or output column: drop the old signature (without CASCADE, so a
        // trigger or view depending on it stops this loudly) and create the function anew.
        const old = await tx<{ signature: string }[]>`
          select oid::regprocedure::text as signature from pg_proc
           where proname = ${fn.name} and pronamespace = current_schema()::regnamespace`;
        for (const { signature } of old) await tx.unsafe(`drop function ${signature}`);
        await tx.unsafe(fn.sql);
      }
    }
    await tx`insert into sql_functions_version (version, sha256) values (${version}, ${sha256})
             on conflict (id) do update set version = excluded.version, sha256 = excluded.sha256, applied_at = now()`;
    // A function only some migration defines keeps an old definition nobody reads: the tests fail
    // on it (db/functions.test.ts); a deploy only says so, since an operator's own helper
    // function in the schema must not stop it.
    const undeclared = await undeclaredFunctions(tx as unknown as Sql);
    if (undeclared.length > 0) console.warn(`db/functions: functions not declared in db/functions/: ${undeclared.join(", ")}`);
    return "applied" as const;
  });
}
