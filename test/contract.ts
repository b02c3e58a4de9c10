// Checks answers of the real app against the published OpenAPI document: the status is one the
// operation documents, the body validates against that status's schema, and the documented
// headers are there. Wrap the fetch a client uses (`new Metered({ fetch: contract.fetch })`)
// and assert `contract.violations` is empty at the end.
//
// The document is read once, from an app this test file started (GET /api/openapi.json): made
// from the route modules' declarations, it would otherwise load the whole server into every test
// file that calls the API. openapi/document.server.test.ts holds the served document to the code's. With no
// such app running, it is made in process.
import Ajv2020 from "ajv/dist/2020";
import { runningApps } from "./app";

type Json = Record<string, any>;
type Checker = { status: string; validate: ReturnType<Ajv2020["compile"]>; headers: string[]; types: string[]; errors: () => string };
type Operation = { method: string; pattern: RegExp; responses: Record<string, Checker> };

const RETRY_AFTER_CODES = new Set(["QUOTA_EXCEEDED", "RATE_LIMITED", "SERVICE_UNAVAILABLE"]);

/** `#/components/...` refs point into the document registered as "openapi". */
const rebase = (node: unknown): unknown =>
  Array.isArray(node)
    ? node.map(rebase)
    : node && typeof node === "object"
      ? Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === "$ref" && typeof v === "string" ? `openapi${v}` : rebase(v)]))
      : node;

/** Each operation of the document with a validator per documented status. */
function operationsOf(doc: Json): Operation[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat("date-time", (v: string) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d{2}-\d{2}T/.test(v));
  ajv.addFormat("uri", (v: string) => URL.canParse(v));
  ajv.addSchema({ $id: "openapi", components: doc.components });
  const componentHeader = (ref: string): Json => doc.components.headers[ref.split("/").pop()!];
  return Object.entries(doc.paths as Json).flatMap(([path, ops]) =>
    Object.entries(ops as Json).map(([method, op]) => ({
      method: method.toUpperCase(),
      pattern: new RegExp(`^${path.replace(/\{\w+\}/g, "[^/]+")}$`),
      responses: Object.fromEntries(
        Object.entries(op.responses as Json).map(([status, response]) => {
          // The headers the document marks required (x-request-id, x-corr-id).
          const headers = Object.entries((response.headers ?? {}) as Record<string, { $ref: string }>)
            .filter(([, h]) => componentHeader(h.$ref).required === true)
            .map(([name]) => name);
          const validate = ajv.compile(rebase(response.content["application/json"].schema) as Json);
          const types = Object.keys(response.content as Json);
          const checker: Checker = { status, validate, headers, types, errors: () => ajv.errorsText(validate.errors) };
          return [status, checker];
        }),
      ),
    })),
  );
}

let document: Promise<Operation[]> | null = null;

/** The document's operations, read once (a failure is tried again at the next answer). */
function theDocument(): Promise<Operation[]> {
  document ??= loadDocument().catch((err) => {
    document = null;
    throw err;
  });
  return document;
}

async function loadDocument(): Promise<Operation[]> {
  for (const url of runningApps()) {
    const r = await fetch(`${url}/api/openapi.json`).catch(() => null);
    if (r?.status === 200) return operationsOf((await r.json()) as Json);
  }
  const { openApiDocument } = await import("../app/server/openapi/document.server");
  return operationsOf(openApiDocument() as Json);
}

/**
 * What is wrong with an answer of the app, by the document: a list of violations, or null when
 * the document has no such operation (a wrong method or path: other tests judge those).
 */
export async function violationsOf(method: string, pathname: string, response: Response): Promise<string[] | null> {
  const where = `${method} ${pathname} → ${response.status}`;
  const op = (await theDocument()).find((o) => o.method === method && o.pattern.test(pathname));
  if (!op) return null;
  const expected = op.responses[String(response.status)];
  if (!expected) return [`${where}: status not documented (${Object.keys(op.responses).join(", ")})`];
  const out: string[] = [];
  for (const h of expected.headers) if (!response.headers.has(h)) out.push(`${where}: missing header ${h}`);
  // Another documented media type (text/csv): its type is checked, its body is not JSON.
  const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
  if (type !== "application/json") {
    if (!expected.types.includes(type)) out.push(`${where}: content type ${type || "(none)"} not documented (${expected.types.join(", ")})`);
    return out;
  }
  const body = await response.clone().json();
  if (!expected.validate(body)) out.push(`${where}: ${expected.errors()}`);
  if (RETRY_AFTER_CODES.has(body?.error?.code) && !/^\d+$/.test(response.headers.get("retry-after") ?? "")) {
    out.push(`${where}: ${body.error.code} without a Retry-After of whole seconds`);
  }
  return out;
}

export type Contract = { fetch: (url: string, init: RequestInit) => Promise<Response>; checked: () => number; violations: string[] };

/** A fetch that checks every answer from `appUrl` against the document (others pass unchecked). */
export function contractFetch(appUrl: string): Contract {
  const violations: string[] = [];
  let checked = 0;
  return {
    violations,
    checked: () => checked,
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      if (!url.startsWith(appUrl)) return response;
      const { pathname } = new URL(url);
      const method = (init.method ?? "GET").toUpperCase();
      const found = await violationsOf(method, pathname, response);
      if (found === null) violations.push(`${method} ${pathname} → ${response.status}: no such operation in the document`);
      else {
        checked++;
        violations.push(...found);
      }
      return response;
    },
  };
}
