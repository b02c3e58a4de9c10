// Stripe's OpenAPI document (github.com/stripe/openapi, `openapi/spec3.json`) as a description
// for the contract test: the subset for the operations of contract.ts (cut by `bun run
// stripe:openapi`), and validators made of it. OpenAPI 3.0 is read as Stripe writes it:
// `nullable`, `anyOf` for expandable fields (an id, or the object), `x-expandableFields` for
// what `expand[]` may name, form-encoded request bodies and deep-object query parameters.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import { type Description, formSchema, OPERATIONS, type Operation, schemasAt, sdkDescription } from "./contract";

type Json = Record<string, any>;
const ROOT = join(import.meta.dir, "..");

/**
 * Where the contract test looks for the subset: `STRIPE_OPENAPI_SUBSET`, then
 * `.data/stripe-openapi/` (where `bun run stripe:openapi` writes).
 */
export const SUBSET_PLACES = [process.env.STRIPE_OPENAPI_SUBSET, join(ROOT, ".data", "stripe-openapi", "spec3.subset.json")].filter((p): p is string =>
  Boolean(p),
);

export function findOpenapiSubset(): { path: string; doc: Json } | null {
  const path = SUBSET_PLACES.find((p) => existsSync(p));
  return path ? { path, doc: JSON.parse(readFileSync(path, "utf8")) } : null;
}

/** The descriptions the contract tests check against: the SDK's types, and the OpenAPI subset when at hand (else they say so). */
export function descriptionsAtHand(): Description[] {
  const subset = findOpenapiSubset();
  if (!subset) console.info("no OpenAPI subset found (docs/local-stripe.md, «The contract»): checking against the stripe package's types only");
  return [sdkDescription(), ...(subset ? [openapiDescription(subset.doc)] : [])];
}

const templateOf = (path: string) => path.replace(/\{[^}]+\}/g, "{}");

/** The document's path item for an operation (path parameters may be named differently). */
function operationIn(doc: Json, o: Operation): { path: string; spec: Json } | null {
  const path = Object.keys(doc.paths ?? {}).find((p) => templateOf(p) === templateOf(o.path));
  const spec = path ? doc.paths[path][o.method.toLowerCase()] : undefined;
  return path && spec ? { path, spec } : null;
}

const refName = (ref: string) => decodeURIComponent(ref.replace("#/components/schemas/", ""));

function refsIn(node: unknown, into: Set<string>) {
  if (Array.isArray(node)) for (const v of node) refsIn(v, into);
  else if (node && typeof node === "object")
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") into.add(refName(v));
      else refsIn(v, into);
    }
}

/** An expandable field's objects outside the subset's resources become "some object": the subset stays small. */
function pruneExpansions(schema: Json, keep: Set<string>): Json {
  const expandable = new Set<string>(schema["x-expandableFields"] ?? []);
  if (!schema.properties || expandable.size === 0) return schema;
  const properties = Object.fromEntries(
    Object.entries(schema.properties as Json).map(([name, prop]) => {
      if (!expandable.has(name)) return [name, prop];
      const prune = (s: Json): Json => (s.$ref && !keep.has(refName(s.$ref)) ? { type: "object", "x-pruned": refName(s.$ref) } : s);
      // `x-expansionResources` repeats the refs: it goes, the `anyOf` says the same.
      const { anyOf, "x-expansionResources": _, ...rest } = prop as Json;
      return [name, anyOf ? { ...rest, anyOf: anyOf.map(prune) } : prune(rest)];
    }),
  );
  return { ...schema, properties };
}

/**
 * The subset of a full document for the operations of contract.ts: their path items (only the
 * methods used) and every component schema they reach, expandable objects pruned to the
 * resources the operations answer. `missing` names the operations the document lacks.
 */
export function openapiSubset(full: Json): { doc: Json; missing: string[] } {
  const paths: Json = {};
  const missing: string[] = [];
  const reached = new Set<string>();
  for (const o of OPERATIONS) {
    const found = operationIn(full, o);
    if (!found) {
      missing.push(`${o.method} ${o.path}`);
      continue;
    }
    paths[found.path] = { ...paths[found.path], [o.method.toLowerCase()]: found.spec };
    refsIn(found.spec, reached);
  }
  // The resources answered by the operations (and their lists' items) keep their expansions.
  const keep = new Set<string>();
  for (const name of reached) {
    const s = full.components.schemas[name];
    if (s?.["x-resourceId"]) keep.add(name);
  }
  const schemas: Json = {};
  const queue = [...reached];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (schemas[name]) continue;
    const schema = full.components.schemas[name];
    if (!schema) continue;
    schemas[name] = pruneExpansions(schema, keep);
    const next = new Set<string>();
    refsIn(schemas[name], next);
    queue.push(...[...next].filter((n) => !schemas[n]));
  }
  const sorted = Object.fromEntries(
    Object.keys(schemas)
      .sort()
      .map((k) => [k, schemas[k]]),
  );
  return { doc: { openapi: full.openapi, info: full.info, servers: full.servers, paths, components: { schemas: sorted } }, missing };
}

/** An OpenAPI 3.0 schema as a JSON schema: `nullable` becomes a null branch, refs point at `definitions`, objects name all their fields. */
export function jsonSchemaOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(jsonSchemaOf);
  if (!node || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k.startsWith("x-") || k === "description" || k === "title" || k === "nullable" || k === "format" || k === "style" || k === "explode") continue;
    if (k === "$ref") out.$ref = `#/definitions/${encodeURIComponent(refName(v as string))}`;
    else if (k === "properties") out.properties = Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, jsonSchemaOf(s)]));
    else out[k] = jsonSchemaOf(v);
  }
  // An answer carries only the fields the document names (a map declares its values).
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return (node as Json).nullable ? { anyOf: [out, { type: "null" }] } : out;
}

/**
 * The request parameters of an operation as one object schema: a POST's form body; a GET's query
 * parameters (Stripe's document gives GETs an empty form body too); a DELETE's either (the SDK
 * sends them in the query).
 */
function requestSchema(spec: Json, method: string): Json {
  const body = spec.requestBody?.content?.["application/x-www-form-urlencoded"]?.schema;
  if (method === "POST" && body) return body;
  const query = (spec.parameters ?? []).filter((p: Json) => p.in === "query");
  const bodyProperties = method === "DELETE" ? (body?.properties ?? {}) : {};
  return {
    type: "object",
    properties: { ...bodyProperties, ...Object.fromEntries(query.map((p: Json) => [p.name, p.schema ?? {}])) },
    required: query.filter((p: Json) => p.required).map((p: Json) => p.name),
    additionalProperties: false,
  };
}

const answerSchema = (spec: Json): Json => spec.responses?.["200"]?.content?.["application/json"]?.schema ?? {};

/** The description made of an OpenAPI document (or its subset). */
export function openapiDescription(doc: Json): Description {
  const definitions = Object.fromEntries(Object.entries(doc.components?.schemas ?? {}).map(([k, s]) => [k, jsonSchemaOf(s)]));
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ definitions }, "openapi");
  // Request parameters arrive form-decoded: their schemas point at the form-decoded definitions.
  ajv.addSchema({ definitions: formSchema(definitions) }, "form");
  const rebase = (schema: unknown, id: string) => JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/definitions/', `"$ref":"${id}#/definitions/`));
  const compiled = new Map<string, ValidateFunction>();
  const compile = (key: string, schema: () => unknown) => () => compiled.get(key) ?? compiled.set(key, ajv.compile(schema() as Json)).get(key)!;
  return {
    name: `Stripe's OpenAPI document (${doc.info?.version ?? "unknown version"})`,
    describe(o) {
      const found = operationIn(doc, o);
      if (!found) return null;
      const key = `${o.method} ${o.path}`;
      return {
        request: compile(`${key} request`, () => rebase(formSchema(jsonSchemaOf(requestSchema(found.spec, o.method))), "form")),
        response: compile(`${key} response`, () => rebase(jsonSchemaOf(answerSchema(found.spec)), "openapi")),
        paramSchema: (path: string[]) => schemasAt(doc, [requestSchema(found.spec, o.method)], path),
      };
    },
    // `expand[]` may only name fields the answer's object lists in `x-expandableFields`.
    checkRequest(o, params) {
      const found = operationIn(doc, o);
      const expand = params.expand;
      if (!found || !expand || typeof expand !== "object") return [];
      return Object.values(expand as Json)
        .filter((path) => !expandable(doc, answerSchema(found.spec), String(path).split(".")))
        .map((path) => `expand: ${path} is not expandable`);
    },
  };
}

function expandable(doc: Json, root: Json, parts: string[]): boolean {
  let here = schemasAt(doc, [root], []) ?? [];
  for (const part of parts) {
    if (part === "data" && here.some((s) => s.properties?.data?.items)) {
      here = schemasAt(doc, here, ["data", "[]"]) ?? [];
      continue;
    }
    if (!here.some((s) => (s["x-expandableFields"] ?? []).includes(part))) return false;
    here = (schemasAt(doc, here, [part]) ?? []).filter((s) => s.type === "object" || s.properties);
  }
  return true;
}
