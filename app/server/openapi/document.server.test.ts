// The published contract: a valid OpenAPI 3.1 document, made from the declarations of every
// /api/v1 route file, served by the app as built, and listing only methods the routes really serve.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { startApp, type TestApp } from "../../../test/app";
import { apiOperations, openApiDocument } from "./document.server";
import { documentedRoutes } from "./documented-routes.server";

const doc = openApiDocument() as { openapi: string; paths: Record<string, Record<string, unknown>> };
const operations = apiOperations();
const routesDir = join(import.meta.dir, "../../routes");

/** `api.v1.keys.$id.ts` → `/api/v1/keys/{id}`, as Remix's flat routes map it (`[…]` escapes its text: `[.]` a dot). */
const pathOfRouteFile = (file: string) =>
  `/${file
    .replace(/\.tsx?$/, "")
    .replace(/\[([^\]]*)\]/g, (_, text: string) => text.replaceAll(".", "~"))
    .split(".")
    .map((seg) => (seg.startsWith("$") ? `{${seg.slice(1)}}` : seg.replaceAll("~", ".")))
    .join("/")}`;

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app.stop();
});

describe("the OpenAPI document", () => {
  test("validates as OpenAPI 3.1", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  test("every /api/v1 route file has its path in the document, each documented route under its own file's path", async () => {
    const files = readdirSync(routesDir).filter((f) => f.startsWith("api.v1.") && /\.tsx?$/.test(f) && !f.includes(".test."));
    expect(files.length).toBeGreaterThan(10);
    const missing = files.map(pathOfRouteFile).filter((path) => !doc.paths[path]);
    expect(missing).toEqual([]);
    const registered = new Map(documentedRoutes());
    for (const file of [...files, "api.openapi[.]json.ts"]) {
      const { route } = await import(join(routesDir, file));
      expect(registered.get(pathOfRouteFile(file)) === route ? "its route" : `not ${file}'s route`).toBe("its route");
    }
    expect(registered.size).toBe(files.length + 1);
  });

  test("every method of a documented route is documented, with the errors its declaration implies", () => {
    for (const [path, route] of documentedRoutes()) {
      for (const method of route.methods) {
        const op = operations.find((o) => o.path === path && o.method === method.toLowerCase());
        expect(op ? "documented" : `${method} ${path} is not`).toBe("documented");
        const implied = [
          ...(op?.body ? ["MALFORMED_JSON", "VALIDATION_FAILED", "PAYLOAD_TOO_LARGE"] : []),
          ...(op?.query ? ["VALIDATION_FAILED"] : []),
          ...(op?.auth === "none" ? [] : ["UNAUTHENTICATED"]),
          ...(route.specs[method]?.role ? ["FORBIDDEN"] : []),
        ];
        expect(implied.filter((code) => !op?.errors.includes(code as never)).map((code) => `${op?.operationId}: ${code}`)).toEqual([]);
      }
    }
  });

  test("the examples in the document are valid by the routes' own schemas", () => {
    for (const op of operations) {
      if (op.body) expect(op.body.schema.safeParse(op.body.example).error, op.operationId).toBeUndefined();
      if (op.data?.example) expect(op.data.schema.safeParse(op.data.example).error, op.operationId).toBeUndefined();
    }
  });

  test("the app serves the same document at GET /api/openapi.json", async () => {
    const r = await fetch(`${app.url}/api/openapi.json`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await r.json()).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  test("every documented method is served by its route (no 404 or 405)", async () => {
    for (const op of operations) {
      const url = `${app.url}${op.path.replace("{id}", "key_doesnotexist")}`;
      const r = await fetch(url, {
        method: op.method.toUpperCase(),
        headers: { "content-type": "application/json" },
        body: op.method === "get" ? undefined : "{}",
      });
      expect([404, 405].includes(r.status) ? `${op.method} ${op.path} → ${r.status}` : "served").toBe("served");
    }
  });
});
