// Postgres restarted under the app: requests answer 503 SERVICE_UNAVAILABLE in the envelope while
// it is down, nothing is half-written, and the app serves again by itself when it is back. Uses
// its own embedded Postgres, so the shared test server is never stopped.
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { startApp, type TestApp } from "../../../test/app";
import { type OwnPostgres, seedOrgWithKey, startOwnPostgres } from "../../../test/faults/own-services";

let app: TestApp;
let pg: OwnPostgres;

beforeAll(async () => {
  pg = await startOwnPostgres("restart");
  app = await startApp({ DATABASE_URL: pg.url });
});
afterAll(async () => {
  await app?.stop();
  await pg?.remove();
});

const record = (key: string, id: string) =>
  fetch(`${app.url}/api/v1/usage`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ request_id: id }),
  });

test("Postgres down: 503 in the envelope, nothing half-written; back up: served again", async () => {
  const key = await seedOrgWithKey(pg.url, "org_restart");
  expect((await record(key, "before")).status).toBe(200);

  await pg.stop();
  const down = await record(key, "during");
  expect(down.status).toBe(503);
  const body = (await down.json()) as any;
  expect(body.error.code).toBe("SERVICE_UNAVAILABLE");
  expect(down.headers.get("retry-after")).toBe("1");

  await pg.start();
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = (await record(key, "during")).status; // the client retries the same request_id
    if (status !== 200) await Bun.sleep(100);
  }
  expect(status).toBe(200);
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  const [row] = await sql<{ used: number; rows: number }[]>`
    select (select used from usage_counters where org_id = 'org_restart')::int as used,
           (select count(*) from usage_events where org_id = 'org_restart')::int as rows`;
  await sql.end();
  expect(row).toEqual({ used: 2, rows: 2 });
});
