// The current definitions of our SQL functions live in db/functions/*.sql, one function a file;
// migrations are only the history of the schema. applyFunctions() runs every file, in file-name
// order, after the migrations, on every migrate, in one transaction, so the database always
// holds exactly what those files say. The files are CREATE OR REPLACE, so applying them again
// changes nothing; Postgres refuses CREATE OR REPLACE when a parameter's name or the output
// columns change, so then the old signature is dropped and the function created again, in the
// same transaction (callers never see it missing).
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

/** Functions of the public schema (not an extension's) that no file of db/functions declares. */
export async function undeclaredFunctions(sql: Sql): Promise<string[]> {
  const declared = declaredFunctions().map((f) => f.name);
  const rows = await sql<{ signature: string }[]>`
    select p.oid::regprocedure::text as signature
      from pg_proc p
     where p.pronamespace = 'public'::regnamespace
       and not (p.proname = any(${declared}::text[]))
       and not exists (select 1 from pg_depend d
                        where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
     order by 1`;
  return rows.map((r) => r.signature);
}

/** Creates or replaces every declared function, in one transaction. */
export async function applyFunctions(sql: Sql): Promise<void> {
  const functions = declaredFunctions();
  await sql.begin(async (tx) => {
    for (const fn of functions) {
      try {
        await tx.savepoint((sp) => sp.unsafe(fn.sql));
      } catch (err) {
        if ((err as { code?: string }).code !== INVALID_FUNCTION_DEFINITION) throw err;
        // A renamed parameter or output column: drop the old signature (without CASCADE, so a
        // trigger or view depending on it stops this loudly) and create the function anew.
        const old = await tx<{ signature: string }[]>`
          select oid::regprocedure::text as signature from pg_proc
           where proname = ${fn.name} and pronamespace = 'public'::regnamespace`;
        for (const { signature } of old) await tx.unsafe(`drop function ${signature}`);
        await tx.unsafe(fn.sql);
      }
    }
    // A function some migration defined but db/functions does not would keep an old definition
    // nobody reads: refuse, so it is moved here (or dropped by a migration).
    const undeclared = await undeclaredFunctions(tx as unknown as Sql);
    if (undeclared.length > 0) throw new Error(`functions not declared in db/functions/: ${undeclared.join(", ")}`);
  });
}
