// Redis is optional: with it, answers stay exact; down or hanging, the hot path still answers.
import { afterAll, describe, expect, test } from "bun:test";
import { connect as netConnect } from "node:net";
import { startApp, type TestApp } from "../../../test/app";
import { api, countsOf, orgWithKey, rid } from "../../../test/factories";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const redisUp = await new Promise<boolean>((resolve) => {
  const u = new URL(REDIS_URL);
  const s = netConnect({ host: u.hostname, port: Number(u.port || 6379) });
  s.once("connect", () => {
    s.destroy();
    resolve(true);
  });
  s.once("error", () => resolve(false));
});

const apps: TestApp[] = [];
afterAll(async () => {
  await Promise.all(apps.map((a) => a.stop()));
});

async function exercise(app: TestApp) {
  const { orgId, key } = await orgWithKey({ included: 10 });
  const c = api(app.url, key);
  for (let i = 0; i < 3; i++) {
    expect((await c.quota()).status).toBe(200);
    expect((await c.record({ request_id: rid(), quantity: 3 })).status).toBe(200);
    // Right after a record, the quota shows it (the cached copy is dropped by the record).
    expect(((await (await c.quota()).json()) as any).data.used).toBe(3 * (i + 1));
  }
  expect((await c.record({ request_id: rid(), quantity: 2 })).status).toBe(429);
  expect((await countsOf(orgId)).used).toBe(9);
}

describe("Redis cache", () => {
  test.skipIf(!redisUp)("with Redis, quota and usage stay exact", async () => {
    const app = await startApp({ REDIS_URL, REDIS_PREFIX: `test:${rid()}:` });
    apps.push(app);
    await Bun.sleep(200); // connected and ready
    await exercise(app);
  });

  test("with Redis refusing connections, every request is answered from Postgres", async () => {
    const app = await startApp({ REDIS_URL: "redis://127.0.0.1:1" });
    apps.push(app);
    await exercise(app);
  });

  test("with Redis accepting but never answering, requests do not wait on it", async () => {
    const blackHole = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const app = await startApp({ REDIS_URL: `redis://127.0.0.1:${blackHole.port}` });
    apps.push(app);
    const t0 = performance.now();
    await exercise(app);
    // Eleven requests; a single wait on a hanging Redis would be seconds (ioredis's defaults).
    expect(performance.now() - t0).toBeLessThan(3000);
    blackHole.stop(true);
  });
});
