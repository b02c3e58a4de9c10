// Generates JSON schemas of the Stripe objects the app reads from the `stripe` package's own
// TypeScript types (`bun run stripe:schemas`), into stripe-emulator/schemas/stripe.json, and of
// the request parameters of every operation the local Stripe serves, into params.json.
// Each named Stripe type becomes one definition, keyed by its fully qualified name (Stripe's
// namespaces reuse short names such as `Card`), so recursive types stay finite.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

type Schema = Record<string, unknown>;
const dir = join(import.meta.dir, "..", "stripe-emulator", "schemas");
// Each entry file's exports become one output's roots (`Wire` dropped from their names).
const outputs = { "types.ts": "stripe.json", "params.ts": "params.json" };
const program = ts.createProgram(
  Object.keys(outputs).map((f) => join(dir, f)),
  {
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
  },
);
const checker = program.getTypeChecker();
let definitions: Record<string, Schema> = {};
let closedEnums = false;

const isStripe = (symbol: ts.Symbol | undefined) => Boolean(symbol?.declarations?.some((d) => d.getSourceFile().fileName.includes("/node_modules/stripe/")));

/** The definition name of a named Stripe object type, or undefined for anonymous and generic ones. */
function definitionName(type: ts.Type): string | undefined {
  const symbol = type.aliasSymbol ?? type.getSymbol();
  if (!symbol || !isStripe(symbol) || type.aliasTypeArguments?.length) return undefined;
  if ((type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference && checker.getTypeArguments(type as ts.TypeReference).length) return undefined;
  if (!(symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))) return undefined;
  // `"…/stripe/esm/resources/Checkout/Sessions".Session` → `Checkout.Sessions.Session`
  return checker
    .getFullyQualifiedName(symbol)
    .replace(/^"(?:.*\/(?:resources|esm)\/)?(.*?)"\./, "$1.")
    .replaceAll("/", ".");
}

function literalUnion(types: ts.Type[]): Schema | undefined {
  if (!types.every((t) => t.isStringLiteral() || t.isNumberLiteral())) return undefined;
  return { enum: types.map((t) => (t as ts.LiteralType).value) };
}

function schemaOf(type: ts.Type): Schema {
  const f = type.flags;
  if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.Void | ts.TypeFlags.Never | ts.TypeFlags.ESSymbolLike)) return {};
  if (f & ts.TypeFlags.Boolean) return { type: "boolean" };
  if (f & ts.TypeFlags.BooleanLiteral) return { const: checker.typeToString(type) === "true" };
  if (f & ts.TypeFlags.String) return { type: "string" };
  if (f & ts.TypeFlags.Number) return { type: "number" };
  if (type.isStringLiteral() || type.isNumberLiteral()) return { const: type.value };
  if (f & ts.TypeFlags.Null) return { type: "null" };
  if (type.isUnion()) {
    let members = type.types.filter((t) => !(t.flags & ts.TypeFlags.Undefined));
    // Stripe refuses a request enum value it does not know: the SDK's `OtherString` (an answer's
    // enum open to newer values) is dropped from parameters' enums.
    if (closedEnums && members.some((t) => t.isStringLiteral()))
      members = members.filter((t) => !(t.isIntersection() && t.types.some((m) => m.flags & ts.TypeFlags.String)));
    const booleans = members.filter((t) => t.flags & ts.TypeFlags.BooleanLiteral);
    const rest = members.filter((t) => !(t.flags & ts.TypeFlags.BooleanLiteral));
    const parts = [...(booleans.length === 2 ? [{ type: "boolean" }] : booleans.map(schemaOf))];
    const literals = rest.length > 0 ? literalUnion(rest) : undefined;
    if (literals) parts.push(literals);
    else parts.push(...rest.map(schemaOf));
    return parts.length === 1 ? parts[0] : { anyOf: parts };
  }
  if (checker.isArrayType(type)) return { type: "array", items: schemaOf(checker.getTypeArguments(type as ts.TypeReference)[0]) };
  // Stripe's `Decimal` is a string on the wire.
  if (type.aliasSymbol?.name === "Decimal" || type.getSymbol()?.name === "DecimalImpl") return { type: "string" };
  if (type.isIntersection()) {
    // `string & {}` (the SDK's OtherString: an enum open to values newer than the types) is a string.
    const primitive = type.types.find((t) => t.flags & (ts.TypeFlags.String | ts.TypeFlags.Number));
    return primitive ? schemaOf(primitive) : { allOf: type.types.map(schemaOf) };
  }
  if (f & ts.TypeFlags.Object) {
    const name = definitionName(type);
    if (!name) return objectSchema(type);
    if (!definitions[name]) {
      definitions[name] = {};
      definitions[name] = objectSchema(type);
    }
    return { $ref: `#/definitions/${encodeURIComponent(name)}` };
  }
  throw new Error(`no schema for ${checker.typeToString(type)}`);
}

function objectSchema(type: ts.Type): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const prop of checker.getPropertiesOfType(type)) {
    const decl = prop.valueDeclaration ?? prop.declarations?.[0];
    if (!decl) continue;
    const propType = checker.getTypeOfSymbolAtLocation(prop, decl);
    if (propType.getCallSignatures().length > 0) continue;
    properties[prop.name] = schemaOf(propType);
    if (!(prop.flags & ts.SymbolFlags.Optional)) required.push(prop.name);
  }
  const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
  // An empty interface (an event's `data.object`) says nothing about its fields.
  if (required.length === 0 && Object.keys(properties).length === 0 && !index) return { type: "object" };
  return {
    type: "object",
    properties,
    required,
    // Our objects carry only the fields Stripe's types name (a map's values are typed by its index).
    additionalProperties: index ? schemaOf(index.type) : false,
  };
}

for (const [entry, file] of Object.entries(outputs)) {
  definitions = {};
  closedEnums = entry === "params.ts";
  const source = program.getSourceFile(join(dir, entry))!;
  const roots: Record<string, Schema> = {};
  for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)) {
    roots[symbol.name.replace(/^Wire/, "")] = schemaOf(checker.getDeclaredTypeOfSymbol(symbol));
  }
  const out = { $schema: "http://json-schema.org/draft-07/schema#", roots, definitions };
  writeFileSync(join(dir, file), `${JSON.stringify(out)}\n`);
  console.log(`stripe-emulator/schemas/${file}: ${Object.keys(roots).length} roots, ${Object.keys(definitions).length} definitions`);
}
