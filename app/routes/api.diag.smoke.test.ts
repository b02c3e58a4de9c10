import { afterAll, beforeAll, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../test/app";

let app: TestApp;
beforeAll(async () => {
  app = await startApp({ STRIPE_SECRET_KEY: "sk_test_smokesecret123" });
});
afterAll(async () => {
  await app.stop();
});

test("smoke answers each check with its latency, and reveals no secret", async () => {
  const r = await fetch(`${app.url}/api/diag/smoke`);
  expect(r.status).toBe(200);
  const text = await r.text();
  const { data } = JSON.parse(text);
  expect(data.ok).toBe(true);
  const byName = Object.fromEntries(data.checks.map((c: any) => [c.name, c]));
  expect(byName.database.status).toBe("ok");
  expect(byName.job_queue.status).toBe("ok");
  expect(byName.redis.status).toBe("off");
  expect(typeof byName.database.latencyMs).toBe("number");
  expect(text).not.toContain("sk_test_smokesecret123");
  expect(text).not.toContain("postgres://");
});

test("smoke reports the instance id the app printed in its start line, so a caller can tell it is ours", async () => {
  const started = JSON.parse(app.logs.find((l) => l.includes('"msg":"app listening"'))!) as { instanceId: string };
  expect(started.instanceId).toMatch(/^inst_[0-9a-f]{16}$/);
  const { data } = (await (await fetch(`${app.url}/api/diag/smoke`)).json()) as { data: { instanceId: string } };
  expect(data.instanceId).toBe(started.instanceId);
});

test("smoke answers 503 when the database is unreachable", async () => {
  const down = await startApp({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" }).catch((e) => e as Error);
  // The app cannot start its plan sync without a database: it must fail fast, not serve broken.
  expect(down).toBeInstanceOf(Error);
});
