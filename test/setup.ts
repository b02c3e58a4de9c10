// bun test preload: every test FILE gets its own database, a copy of the migrated template
// (test/db.ts), dropped when the file ends, so files never share state. It needs `bun test
// --isolate` (scripts/bun.sh adds it), which gives each file a fresh global and module registry
// and runs this preload again for it; it runs before the file imports the app's config.
import { afterAll, beforeEach } from "bun:test";
import { relative } from "node:path";
import { watchContract } from "./contract-watch";
import { createTestDatabase } from "./db";
import { freePort } from "./ports";

const file = Bun.main;
const testDb = await createTestDatabase(relative(process.cwd(), file).replace(/\.test\.tsx?$/, ""));
process.env.DATABASE_URL = testDb.url;
process.env.NODE_ENV = "test";
process.env.LOG_LEVEL ??= "silent";
process.env.SESSION_SECRET ??= "test-session-secret-test-session-secret";
delete process.env.REDIS_URL; // tests that want Redis start their own app process with it
delete process.env.STRIPE_SECRET_KEY;
delete process.env.STRIPE_TEST_CLOCKS; // tests that want them off say so
// Tests that need the local Stripe start it on this port, so the app and the test agree: one the
// OS found free, not a fixed one another run may hold (the emulator binds it; a clash fails loudly).
process.env.STRIPE_LOCAL_PORT = String(freePort());

// Without --isolate every file would share this one database and module registry: refuse loudly.
beforeEach(() => {
  if (Bun.main !== file) {
    throw new Error(
      `${relative(process.cwd(), Bun.main)} shares ${relative(process.cwd(), file)}'s database: run bun test with --isolate (sh scripts/bun.sh test adds it)`,
    );
  }
});

// Every /api/v1 answer a test sees must match the published contract.
watchContract();

afterAll(async () => {
  if (process.env.KEEP_TEST_DB) return;
  await testDb.drop();
});
