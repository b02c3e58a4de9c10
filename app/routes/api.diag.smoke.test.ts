import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { startApp, type TestApp } from "../../test/app";
import { createTestDatabase } from "../../test/db";

let app: TestApp;
beforeAll(async () => {
  app = await startApp({ STRIPE_SECRET_KEY: "sk_test_smokesecret123", STRIPE_WEBHOOK_SECRET: "whsec_smokeendpoint123" });
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

test("smoke answers 503, naming the failing check, when a required dependency fails", async () => {
  // A running app whose job queue is gone: graphile-worker's schema dropped from its database.
  const db = await createTestDatabase("smoke_no_queue");
  const admin = postgres(db.url, { max: 1, onnotice: () => {} });
  await admin`drop schema graphile_worker cascade`;
  await admin.end();
  const broken = await startApp({ DATABASE_URL: db.url });
  try {
    const r = await fetch(`${broken.url}/api/diag/smoke`);
    expect(r.status).toBe(503);
    const body = (await r.json()) as { ok: boolean; error: { code: string; details: { checks: { name: string; status: string }[] } } };
    expect(body.ok).toBe(false);
    expect(body.error.code).toBe("SERVICE_UNAVAILABLE");
    const byName = Object.fromEntries(body.error.details.checks.map((c) => [c.name, c.status]));
    expect(byName).toMatchObject({ database: "ok", job_queue: "fail", config: "ok" });
  } finally {
    await broken.stop();
    await db.drop();
  }
});

test("an app whose database is unreachable does not start (it cannot sync its plans)", async () => {
  const down = await startApp({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" }).catch((e) => e as Error);
  expect(down).toBeInstanceOf(Error);
  // It stops because of the database (port 1 refuses), not a timeout or some other startup failure.
  expect((down as Error).message).toStartWith("app exited early");
  expect((down as Error).message).toContain("ECONNREFUSED 127.0.0.1:1");
});
