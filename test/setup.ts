// bun test preload: every `bun test` run gets its own migrated database, dropped at the end,
// so runs never share state. It runs before any test file imports the app's config.
import { afterAll } from "bun:test";
import { createTestDatabase } from "./db";

const testDb = await createTestDatabase();
process.env.DATABASE_URL = testDb.url;
process.env.NODE_ENV = "test";
process.env.LOG_LEVEL ??= "silent";
process.env.SESSION_SECRET ??= "test-session-secret-test-session-secret";
delete process.env.REDIS_URL; // tests that want Redis start their own app process with it
delete process.env.STRIPE_SECRET_KEY;
// Tests that need the local Stripe start it on this port, so the app and the test agree.
process.env.STRIPE_LOCAL_PORT = String(12300 + (process.pid % 600));

afterAll(async () => {
  if (process.env.KEEP_TEST_DB) return;
  await testDb.drop();
});
