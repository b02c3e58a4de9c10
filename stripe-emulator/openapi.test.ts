// Stripe's OpenAPI conventions read right (openapi.ts), on a small document written in Stripe's
// style for two operations: the subset keeps what they reach and prunes the rest, `nullable`
// admits null, an expandable field takes an id or its object, `x-expandableFields` bounds
// `expand[]`, form values are strings, a GET's parameters are its query, unnamed fields fail.
import { describe, expect, test } from "bun:test";
import { contractViolations } from "./contract";
import type { Exchange } from "./index";
import { openapiDescription, openapiSubset } from "./openapi";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const clock = {
  type: "object",
  "x-resourceId": "test_helpers.test_clock",
  "x-expandableFields": ["owner"],
  required: ["id", "object", "frozen_time", "name", "owner"],
  properties: {
    id: { type: "string", maxLength: 5000 },
    object: { type: "string", enum: ["test_helpers.test_clock"] },
    frozen_time: { type: "integer", format: "unix-time" },
    name: { type: "string", nullable: true },
    owner: { anyOf: [{ type: "string", maxLength: 5000 }, ref("account")], "x-expansionResources": { oneOf: [ref("account")] } },
  },
};
const doc = {
  openapi: "3.0.0",
  info: { version: "2026-10-28.endive" },
  paths: {
    "/v1/test_helpers/test_clocks/{test_clock}/advance": {
      post: {
        requestBody: {
          content: {
            "application/x-www-form-urlencoded": {
              schema: {
                type: "object",
                additionalProperties: false,
                required: ["frozen_time"],
                properties: { frozen_time: { type: "integer", format: "unix-time" }, expand: { type: "array", items: { type: "string" } } },
              },
            },
          },
        },
        responses: { "200": { content: { "application/json": { schema: ref("test_helpers.test_clock") } } } },
      },
    },
    "/v1/test_helpers/test_clocks/{test_clock}": {
      get: {
        parameters: [
          { in: "path", name: "test_clock", required: true, schema: { type: "string" } },
          { in: "query", name: "expand", style: "deepObject", schema: { type: "array", items: { type: "string" } } },
        ],
        requestBody: { content: { "application/x-www-form-urlencoded": { schema: { type: "object", additionalProperties: false, properties: {} } } } },
        responses: { "200": { content: { "application/json": { schema: ref("test_helpers.test_clock") } } } },
      },
      delete: { responses: {} },
    },
    "/v1/charges": { post: { responses: {} } },
  },
  components: {
    schemas: {
      "test_helpers.test_clock": clock,
      account: { type: "object", "x-resourceId": "account", properties: { id: { type: "string" }, business: ref("business") } },
      business: { type: "object", properties: { name: { type: "string" } } },
      charge: { type: "object", properties: { id: { type: "string" } } },
    },
  },
};

const answer = { id: "clock_1", object: "test_helpers.test_clock", frozen_time: 1800000000, name: null, owner: "acct_1" };
const advance = (x: Partial<Exchange>): Exchange => ({
  method: "POST",
  path: "/v1/test_helpers/test_clocks/clock_1/advance",
  params: { frozen_time: "1800000000" },
  status: 200,
  body: answer,
  ...x,
});
const found = (...xs: Exchange[]) => contractViolations(openapiDescription(openapiSubset(doc).doc), xs).filter((v) => !v.includes("has no")); // the document has two operations only

describe("Stripe's OpenAPI document as the contract's description", () => {
  test("the subset holds the operations' paths (only the methods used) and the schemas they reach; other resources' objects are pruned", () => {
    const { doc: subset, missing } = openapiSubset(doc);
    expect(Object.keys(subset.paths).sort()).toEqual(["/v1/test_helpers/test_clocks/{test_clock}", "/v1/test_helpers/test_clocks/{test_clock}/advance"]);
    expect(Object.keys(subset.paths["/v1/test_helpers/test_clocks/{test_clock}"])).toEqual(["get", "delete"]);
    expect(Object.keys(subset.components.schemas)).toEqual(["test_helpers.test_clock"]);
    expect(subset.components.schemas["test_helpers.test_clock"].properties.owner.anyOf[1]).toEqual({ type: "object", "x-pruned": "account" });
    expect(missing).toContain("POST /v1/customers");
  });

  test("a well-formed exchange passes: integers as form strings, null where nullable, an expandable id or its object", () => {
    expect(found(advance({}), advance({ body: { ...answer, name: "n", owner: { id: "acct_1", business: { name: "x" } } } }))).toEqual([]);
    expect(found(advance({ method: "GET", path: "/v1/test_helpers/test_clocks/clock_1", params: { expand: ["owner"] } }))).toEqual([]);
  });

  test("drift fails: an unknown or mistyped parameter, a missing or unnamed or mistyped field, a non-expandable expand", () => {
    expect(found(advance({ params: { frozen_time: "1800000000", colour: "red" } })).join()).toContain('"additionalProperty":"colour"');
    expect(found(advance({ params: { frozen_time: "soon" } })).join()).toContain("/frozen_time");
    expect(found(advance({ params: {} })).join()).toContain("frozen_time");
    expect(found(advance({ body: { ...answer, colour: "red" } })).join()).toContain('"additionalProperty":"colour"');
    const { name: _, ...nameless } = answer;
    expect(found(advance({ body: nameless })).join()).toContain("'name'");
    expect(found(advance({ body: { ...answer, frozen_time: "now" } })).join()).toContain("/frozen_time");
    expect(found(advance({ method: "GET", path: "/v1/test_helpers/test_clocks/clock_1", params: { expand: ["frozen_time"] } })).join()).toContain(
      "expand: frozen_time is not expandable",
    );
    expect(found(advance({ method: "GET", path: "/v1/test_helpers/test_clocks/clock_1", params: { frozen_time: "1" } })).join()).toContain("frozen_time");
  });
});
