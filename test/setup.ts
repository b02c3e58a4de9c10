// bun test preload: every `bun test` run gets its own migrated database, dropped at the end,
// so runs never share state. It runs before any test file imports the app's config.
import { afterAll } from "bun:test";
import { createTestDatabase } from "./db";
import { freePort } from "./ports";

const testDb = await createTestDatabase();
process.env.DATABASE_URL = testDb.url;
process.env.NODE_ENV = "test";
process.env.LOG_LEVEL ??= "silent";
process.env.SESSION_SECRET ??= "test-session-secret-test-session-secret";
delete process.env.REDIS_URL; // tests that want Redis start their own app process with it
delete process.env.STRIPE_SECRET_KEY;
// Tests that need the local Stripe start it on this port, so the app and the test agree: one the
// OS found free, not a fixed one another run may hold (the emulator binds it; a clash fails loudly).
process.env.STRIPE_LOCAL_PORT = String(freePort());

afterAll(async () => {
  if (process.env.KEEP_TEST_DB) return;
  await testDb.drop();
});
