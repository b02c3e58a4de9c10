// Renders docs/api.md from the OpenAPI document (routes, fields, error codes) and the prose of
// api-prose.ts. Deterministic: the same code gives the same file, byte for byte.
import { apiOperations, ERROR_DOCS, type Operation, openApiDocument } from "../../app/server/openapi/document.server";
import { ERROR_STATUS, type ErrorCode } from "../../app/server/platform/errors.server";
import { basics, client, intro, otherRoutes, overage, pastIncluded, versioning } from "./api-prose";

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  anyOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema | boolean;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  $ref?: string;
};

type Doc = { components: { schemas: Record<string, Schema> } };

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n+/g, " ");

function nonNull(schema: Schema): { schema: Schema; nullable: boolean } {
  const branches = schema.anyOf?.filter((b) => b.type !== "null");
  if (schema.anyOf && branches?.length === 1) return { schema: branches[0], nullable: true };
  return { schema, nullable: false };
}

function typeOf(schema: Schema): string {
  const { schema: s, nullable } = nonNull(schema);
  let text: string;
  const variants = variantsOf(s);
  if (variants) text = `object (${variants.length} shapes, below)`;
  else if (s.enum) text = s.enum.map((v) => JSON.stringify(v)).join(" | ");
  else if (s.const !== undefined) text = JSON.stringify(s.const);
  else if (s.type === "array" && s.items && variantsOf(s.items)) text = `object[] (${variantsOf(s.items)!.length} shapes, below)`;
  else if (s.type === "array") text = `${s.items ? typeOf(s.items) : "any"}[]`;
  else if (s.type === "object" && !s.properties && typeof s.additionalProperties === "object") text = `object (string → ${typeOf(s.additionalProperties)})`;
  else text = `${Array.isArray(s.type) ? s.type.join(" | ") : (s.type ?? "any")}${s.format ? ` (${s.format})` : ""}`;
  return nullable ? `${text} | null` : text;
}

function rules(schema: Schema): string {
  const { schema: s } = nonNull(schema);
  const out: string[] = [];
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined && s.maximum !== MAX_SAFE) out.push(`≤ ${s.maximum.toLocaleString("en-US")}`);
  if (s.minLength !== undefined) out.push(`length ≥ ${s.minLength}`);
  if (s.maxLength !== undefined) out.push(`length ≤ ${s.maxLength}`);
  if (s.pattern) out.push(`\`${s.pattern}\``);
  if (schema.default !== undefined || s.default !== undefined) out.push(`default \`${JSON.stringify(schema.default ?? s.default)}\``);
  return out.join(", ");
}

/** The object shapes a schema may take (anyOf of several non-null branches), or null for one shape. */
function variantsOf(schema: Schema): Schema[] | null {
  const branches = schema.anyOf?.filter((b) => b.type !== "null") ?? [];
  return branches.length > 1 ? branches : null;
}

/** What tells a variant from the others: its constant fields (`type` = "metered"), else the fields only it has. */
function variantLabel(variant: Schema, all: Schema[]): string {
  const props = Object.entries(variant.properties ?? {});
  const consts = props.filter(([, p]) => p.const !== undefined).map(([name, p]) => `\`${name}\` = ${JSON.stringify(p.const)}`);
  if (consts.length) return consts.join(", ");
  const own = props.map(([name]) => name).filter((name) => all.every((other) => other === variant || !other.properties?.[name]));
  return own.length ? `with \`${own[0]}\`` : "otherwise";
}

/** One row per field, nested objects and arrays of objects as `a.b` and `a[].b`; each shape of a field that has several, after a row naming it. */
function fieldRows(schema: Schema, prefix = "", withRequired = false): string[] {
  const rows: string[] = [];
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const path = `${prefix}${name}`;
    const required = schema.required?.includes(name) ? "yes" : "no";
    const description = prop.description ?? nonNull(prop).schema.description ?? "";
    const cols = [`\`${path}\``, typeOf(prop), ...(withRequired ? [required] : []), rules(prop), description].map(cell);
    rows.push(`| ${cols.join(" | ")} |`);
    const inner = nonNull(prop).schema;
    if (inner.properties) rows.push(...fieldRows(inner, `${path}.`, withRequired));
    if (inner.type === "array" && inner.items?.properties) rows.push(...fieldRows(inner.items, `${path}[].`, withRequired));
    // A map (string → object): its values' fields as `a.*.b`.
    const values = typeof inner.additionalProperties === "object" ? inner.additionalProperties : null;
    if (inner.type === "object" && values?.properties) rows.push(...fieldRows(values, `${path}.*.`, withRequired));
    const variants = inner.type === "array" && inner.items ? variantsOf(inner.items) : null;
    for (const variant of variants ?? []) {
      const cols = [`\`${path}[]\``, `object (${variantLabel(variant, variants!)})`, ...(withRequired ? [""] : []), "", variant.description ?? ""].map(cell);
      rows.push(`| ${cols.join(" | ")} |`, ...fieldRows(variant, `${path}[].`, withRequired));
    }
  }
  return rows;
}

/** A schema's table, or one per shape (after a line naming it) when it has several. */
function tables(schema: Schema, withRequired: boolean): string {
  const variants = variantsOf(schema);
  if (!variants) return table(schema, withRequired);
  return variants.map((variant) => `One shape, ${variantLabel(variant, variants)}:\n\n${table(variant, withRequired)}`).join("\n\n");
}

function table(schema: Schema, withRequired: boolean): string {
  const head = withRequired ? "| field | type | required | rules | meaning |\n|---|---|---|---|---|" : "| field | type | rules | meaning |\n|---|---|---|---|";
  return [head, ...fieldRows(schema, "", withRequired)].join("\n");
}

function curl(op: Operation): string {
  const lines = [
    `curl -s${op.method === "get" ? "" : ` -X ${op.method.toUpperCase()}`} "$BASE${op.path.replace("{id}", "$KEY_ID").replace("{feature}", "tokens")}"`,
  ];
  if (op.auth === "key" || op.auth === "key_or_session") lines.push(`-H "Authorization: Bearer $KEY"`);
  if (op.auth === "session" || op.auth === "admin") lines.push(`-b "__session=$SESSION"${op.method === "get" ? "" : ` -H "Origin: $BASE"`}`);
  if (op.idempotencyKey) lines.push(`-H "Idempotency-Key: ${op.operationId}-7f3a"`);
  if (op.body) lines.push(`-H "Content-Type: application/json" -d '${JSON.stringify(op.body.example)}'`);
  return ["```sh", lines.join(" \\\n     "), "```"].join("\n");
}

function clientExample(op: Operation): string | null {
  if (op.operationId === "getQuota") return 'const quota = await metered.quota({ metric: "api_call" });';
  if (op.operationId === "recordUsage")
    return 'const result = await metered.record({ requestId: "req_01JDQ8W6Y2N4", quantity: 1 }); // retries replay, never recount';
  if (op.operationId === "getEntitlements") return "const { plan, period, features } = await metered.entitlements();";
  if (op.operationId === "getEntitlement") return 'if (await metered.can("sso")) enableSso(); // or: await metered.entitlements("tokens")';
  if (op.auth === "key") return null;
  const init = [
    op.method === "get" ? null : `method: "${op.method.toUpperCase()}"`,
    op.idempotencyKey
      ? 'headers: { "content-type": "application/json", "idempotency-key": crypto.randomUUID() }'
      : op.body
        ? 'headers: { "content-type": "application/json" }'
        : null,
    op.body ? `body: JSON.stringify(${JSON.stringify(op.body.example)})` : null,
  ].filter(Boolean);
  // A template literal in the example when it interpolates the base URL or a key id.
  const path = `${op.auth === "none" ? `\${BASE}` : ""}${op.path.replace("{id}", `\${keyId}`)}`;
  const url = path.includes("$") ? `\`${path}\`` : `"${path}"`;
  const call = init.length ? `fetch(${url}, { ${init.join(", ")} })` : `fetch(${url})`;
  if (!op.data) return `const openapi = await (await ${call}).json(); // not enveloped`;
  return `const { ok, data, error } = await (await ${call}).json();${op.auth === "session" ? " // from the portal: same origin, session cookie" : ""}`;
}

function operationSection(op: Operation, doc: Doc): string {
  const auth = {
    key: "API key (`Authorization: Bearer`)",
    session: "session cookie",
    key_or_session: "API key (`Authorization: Bearer`) or session cookie",
    admin: "session cookie of a platform admin",
    none: "none (public)",
  }[op.auth];
  const parts = [`### ${op.summary}: \`${op.method.toUpperCase()} ${op.path}\``, `Auth: ${auth}.`, op.description];
  if (op.query) parts.push("Query parameters:", table(querySchema(op), true));
  if (op.idempotencyKey)
    parts.push(`Header: \`Idempotency-Key\` (${op.idempotencyKey === "required" ? "required" : "optional, recommended"}): 1–128 of \`A-Z a-z 0-9 . _ : -\`.`);
  if (op.body) parts.push(`Body (\`${op.body.name}\`, unknown fields are refused):`, table(doc.components.schemas[op.body.name], true));
  if (op.data)
    parts.push(
      `Answer \`data\` (\`${op.data.name}\`)${op.replays ? "; a replay adds the header `Idempotent-Replayed: true`" : ""}:`,
      tables(doc.components.schemas[op.data.name], false),
    );
  if (op.data?.example) parts.push(["```json", JSON.stringify({ ok: true, data: op.data.example }, null, 2), "```"].join("\n"));
  const errors = [...op.errors].sort((a, b) => ERROR_STATUS[a] - ERROR_STATUS[b]);
  if (errors.length) parts.push(`Errors: ${errors.map((c) => `${ERROR_STATUS[c]} \`${c}\``).join(", ")}.`);
  parts.push(curl(op));
  const example = clientExample(op);
  if (example) parts.push(["```ts", example, "```"].join("\n"));
  return parts.join("\n\n");
}

/** The query parameters of an operation as the document lists them, shaped as an object schema. */
function querySchema(op: Operation): Schema {
  const doc = openApiDocument() as {
    paths: Record<string, Record<string, { parameters: { in?: string; name: string; required: boolean; schema: Schema }[] }>>;
  };
  const params = doc.paths[op.path][op.method].parameters.filter((p) => p.in === "query");
  return {
    type: "object",
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
    required: params.filter((p) => p.required).map((p) => p.name),
  };
}

function errorTable(): string {
  const codes = Object.keys(ERROR_STATUS) as ErrorCode[];
  const rows = codes.map((c) => `| \`${c}\` | ${ERROR_STATUS[c]} | ${cell(ERROR_DOCS[c].when)} | ${cell(ERROR_DOCS[c].client)} |`);
  return ["## Error codes", "| code | status | when | a client |\n|---|---|---|---|", rows.join("\n")].join("\n\n").replace("|\n\n|", "|\n|");
}

function routes(doc: Doc): string {
  const operations = apiOperations();
  const tags = [...new Set(operations.map((o) => o.tag))];
  return tags.map((tag) => [`## ${tag}`, ...operations.filter((o) => o.tag === tag).map((op) => operationSection(op, doc))].join("\n\n")).join("\n\n");
}

export function renderApiMd(): string {
  const doc = openApiDocument() as unknown as Doc;
  return `${[intro, basics, errorTable(), pastIncluded, overage, versioning, routes(doc), client, otherRoutes].join("\n\n")}\n`;
}
