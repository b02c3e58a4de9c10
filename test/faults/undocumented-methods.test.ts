// A method the contract does not list for a path is refused: 405 in the envelope with `Allow`,
// changing nothing — never a success (a PUT on the keys route once created a key). The paths
// and their methods come from the OpenAPI document, so a new route is checked without touching
// this file.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { openApiDocument } from "../../app/server/openapi/document.server";
import { sql } from "../../app/server/platform/db.server";
import { startApp, type TestApp } from "../app";
import { newOrg, signIn } from "../billing";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const paths = openApiDocument().paths as Record<string, Record<string, unknown>>;

let app: TestApp;
let cookie: string;
let orgId: string;
beforeAll(async () => {
  app = await startApp();
  orgId = await newOrg();
  cookie = await signIn(app, orgId);
});
afterAll(async () => {
  await app.stop();
});

test("every method a path does not document answers 405 with Allow, as an org admin, and changes nothing", async () => {
  const keysBefore = (await sql<{ n: number }[]>`select count(*)::int as n from api_keys where org_id = ${orgId}`)[0].n;
  const wrong: string[] = [];
  let checked = 0;
  for (const [template, ops] of Object.entries(paths)) {
    if (!template.startsWith("/api/v1/")) continue;
    const url = `${app.url}${template.replaceAll(/\{\w+\}/g, "walk_unknown")}`;
    const documented = new Set(Object.keys(ops).map((m) => m.toUpperCase()));
    for (const method of METHODS.filter((m) => !documented.has(m))) {
      const r = await fetch(url, {
        method,
        headers: { cookie, origin: app.url, "content-type": "application/json" },
        body: method === "GET" ? undefined : JSON.stringify({ name: "made by a wrong method", planCode: "pro" }),
      });
      checked++;
      const body = (await r.json().catch(() => null)) as { error?: { code?: string } } | null;
      if (r.status !== 405 || body?.error?.code !== "METHOD_NOT_ALLOWED" || !r.headers.get("allow")) wrong.push(`${method} ${template} → ${r.status}`);
    }
  }
  expect(checked).toBeGreaterThan(30);
  expect(wrong).toEqual([]);
  expect((await sql<{ n: number }[]>`select count(*)::int as n from api_keys where org_id = ${orgId}`)[0].n).toBe(keysBefore);
});
