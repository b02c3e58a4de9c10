// Renders client/src/api-types.ts, the @metered/client's types of the API, from the OpenAPI
// document: one TypeScript type per component schema (answers as sent, bodies as accepted) and the
// documented error codes as a constant. Only the JSON Schema the document uses is understood;
// anything else stops the generator rather than being typed loosely. Deterministic.
import { openApiDocument } from "../../app/server/openapi/document.server";

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema | boolean;
  description?: string;
  $ref?: string;
  [rule: string]: unknown;
};

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const comment = (text: string | undefined) => (text ? `/** ${text.replace(/\*\//g, "*\\/").replace(/\s*\n\s*/g, " ")} */\n` : "");
const key = (name: string) => (IDENTIFIER.test(name) ? name : JSON.stringify(name));
const literal = (value: unknown) => JSON.stringify(value);

function typeOf(schema: Schema, where: string): string {
  if (schema.$ref) return schema.$ref.replace("#/components/schemas/", "");
  if (schema.anyOf) return schema.anyOf.map((s, i) => typeOf(s, `${where}.anyOf[${i}]`)).join(" | ");
  if (schema.enum) return schema.enum.map(literal).join(" | ");
  if (schema.const !== undefined) return literal(schema.const);
  if (Array.isArray(schema.type)) return schema.type.map((type) => typeOf({ ...schema, type }, where)).join(" | ");
  switch (schema.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array": {
      const item = schema.items ? typeOf(schema.items, `${where}[]`) : "unknown";
      return /[|&]/.test(item) ? `(${item})[]` : `${item}[]`;
    }
    case "object":
      return objectType(schema, where);
    case undefined:
      // `{}` (z.unknown()): any JSON value.
      if (Object.keys(schema).every((k) => k === "description")) return "unknown";
  }
  throw new Error(`client types: ${where} has a schema this generator does not understand: ${JSON.stringify(schema)}`);
}

function objectType(schema: Schema, where: string): string {
  const properties = Object.entries(schema.properties ?? {});
  const extra = schema.additionalProperties;
  if (properties.length === 0) return typeof extra === "object" ? `Record<string, ${typeOf(extra, `${where}.*`)}>` : "Record<string, unknown>";
  const required = new Set(schema.required ?? []);
  const fields = properties.map(
    ([name, prop]) =>
      `${comment(prop.description ?? prop.anyOf?.find((b) => b.description)?.description)}${key(name)}${required.has(name) ? "" : "?"}: ${typeOf(prop, `${where}.${name}`)};`,
  );
  return `{\n${fields.join("\n")}\n}`;
}

/** The file's text (unformatted: doc-all formats it with the repository's formatter). */
export function renderClientTypes(): string {
  const doc = openApiDocument() as { components: { schemas: Record<string, Schema> } };
  const { ErrorCode: errorCode, ...schemas } = doc.components.schemas;
  if (!errorCode?.enum) throw new Error("client types: the document has no ErrorCode enum");
  const types = Object.entries(schemas).map(([name, schema]) => `${comment(schema.description)}export type ${name} = ${typeOf(schema, name)};`);
  return [
    "// The Metered API's types, generated from its OpenAPI document (GET /api/openapi.json) by",
    "// `bun run doc:all`: do not edit; `bun run doc:all --check` fails when this file is stale.",
    "// Answers are typed as sent today; fields may be added within v1.",
    "",
    `${comment(errorCode.description)}export const ERROR_CODES = ${literal(errorCode.enum)} as const;`,
    "export type ErrorCode = (typeof ERROR_CODES)[number];",
    "",
    types.join("\n\n"),
    "",
  ].join("\n");
}
