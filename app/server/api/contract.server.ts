// The contract parts of an /api method's declaration (route.server.ts): its body and answer
// schemas with their names and examples, the prose of the OpenAPI document, and the error codes
// it can answer. Small and import-free at run time: every route module loads it.
import type { z } from "zod";
import type { ErrorCode } from "../platform/errors.server";

/** A JSON body: parsed with `schema` before the handler runs; `name` and `example` document it. */
export type BodySpec<S extends z.ZodType = z.ZodType> = { readonly schema: S; readonly name?: string; readonly example?: unknown };

/** The `data` of the success envelope: its schema (the answer's type), name and an example answer. */
export type DataSpec<S extends z.ZodType = z.ZodType> = { readonly schema: S; readonly name: string; readonly example?: unknown };

/** A JSON body schema; a documented one has a name and an example (checked against the schema). */
export function jsonBody<S extends z.ZodType>(schema: S, name?: string, example?: z.input<S>): BodySpec<S> {
  return { schema, name, example };
}

/** What the success envelope's `data` is, named, with an optional example answer. */
export function answer<S extends z.ZodType>(schema: S, name: string, example?: z.output<S>): DataSpec<S> {
  return { schema, name, example };
}

export type Tag = "Usage" | "Plans" | "Billing" | "API keys" | "Webhooks" | "Contract";

/** A method's entry in the OpenAPI document and docs/api.md (undocumented methods have none). */
export type OperationDoc = {
  operationId: string;
  tag: Tag;
  summary: string;
  description: string;
  /** It honours an `Idempotency-Key` header (`"required"`: it refuses a request without one). */
  idempotencyKey?: boolean | "required";
  /** A replay answers the first success again, with `Idempotent-Replayed: true`. */
  replays?: boolean;
  /** Successes other than 200 (201 created, 202 accepted), each with its description; same `data` schema. */
  alsoAnswers?: Partial<Record<"201" | "202", string>>;
  /** Every error code it can answer. */
  errors: readonly ErrorCode[];
  /** It also answers its success as `text/csv` (what the CSV holds); refusals stay JSON envelopes. */
  csv?: string;
};

// Error codes shared by many methods.
/** A JSON body: not JSON (or not declared as JSON), failing its schema, too large. */
export const JSON_BODY = ["MALFORMED_JSON", "VALIDATION_FAILED", "PAYLOAD_TOO_LARGE"] as const satisfies ErrorCode[];
/** A session route for org admins (or a session mutation: same-origin only). */
export const SESSION = ["UNAUTHENTICATED", "FORBIDDEN"] as const satisfies ErrorCode[];
/** Any route that needs the database. */
export const ALWAYS = ["SERVICE_UNAVAILABLE", "INTERNAL"] as const satisfies ErrorCode[];
/** A route that calls Stripe (or Stigg). */
export const STRIPE = ["UPSTREAM_UNAVAILABLE"] as const satisfies ErrorCode[];
