// Applies the committed migrations (forward-only) to DATABASE_URL, or to the URL given, then the
// current definitions of the SQL functions (db/functions/, see db/functions.ts), every time.
// `bun db/migrate.ts` runs it; the run command and the test setup call migrateDatabase().

import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import { Logger, runMigrations } from "graphile-worker";
import postgres from "postgres";
import { ADVISORY_LOCKS } from "./advisory-locks";
import { applyFunctions } from "./functions";

const quietLogger = new Logger(() => () => {});
const folder = fileURLToPath(new URL("./migrations", import.meta.url));

export async function migrateDatabase(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // One migrator at a time per database, even when several processes start together.
    await client`select pg_advisory_lock(${ADVISORY_LOCKS.migrate})`;
    await migrate(drizzle(client), { migrationsFolder: folder });
    // graphile-worker's own schema, so jobs can be enqueued (in our transactions) before any
    // worker has started.
    await runMigrations({ connectionString: url, logger: quietLogger });
    // Last, so a function may use anything the migrations (ours and graphile-worker's) created.
    await applyFunctions(client);
  } finally {
    await client.end();
  }
}

if (import.meta.main) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error("DATABASE_URL is not set");
    process.exit(1);
  }
  await migrateDatabase(url);
  console.log("migrations applied");
}
