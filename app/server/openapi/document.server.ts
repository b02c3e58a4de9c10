// The OpenAPI 3.1 document of the API, made from the routes' declarations (the documented
// methods of documented-routes.server.ts) and the Zod schemas they validate with (z.toJSONSchema).
// Served at /api/openapi.json; docs/api.md and the client's types are made from it.
import { z } from "zod";
import type { DataSpec, OperationDoc } from "../api/contract.server";
import { EVENT_TYPES, eventData, eventEnvelope } from "../api/event-schemas.server";
import { idempotencyKey } from "../api/schemas.server";
import type { Auth } from "../http/route.server";
import { ERROR_STATUS, type ErrorCode } from "../platform/errors.server";
import { documentedRoutes } from "./documented-routes.server";

type Json = Record<string, unknown>;

/** A documented method, as the document and docs/api.md read it. */
export type Operation = OperationDoc & {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI path template. */
  path: string;
  auth: Auth;
  query?: z.ZodObject;
  body?: { schema: z.ZodType; name: string; example: unknown };
  /** The `data` of the success envelope (null: the answer is not enveloped). */
  data: DataSpec | null;
};

let operations: Operation[] | null = null;

/** Every documented method, in the document's order (route by route, methods in Allow's order). */
export function apiOperations(): Operation[] {
  operations ??= documentedRoutes().flatMap(([path, route]) =>
    route.methods.flatMap((method): Operation[] => {
      const { doc, auth, query, body, data } = route.specs[method]!;
      if (!doc) return [];
      // apiRoute refuses a documented method without data, or with a body lacking a name or example.
      const documentedBody = body ? { schema: body.schema, name: body.name!, example: body.example } : undefined;
      return [{ ...doc, method: method.toLowerCase() as Operation["method"], path, auth, query, body: documentedBody, data: data ?? null }];
    }),
  );
  return operations;
}

const SECURITY: Record<Auth, Json[]> = {
  none: [],
  key: [{ apiKey: [] }],
  session: [{ session: [] }],
  key_or_session: [{ apiKey: [] }, { session: [] }],
  admin: [{ session: [] }],
};

/** When each error code is answered, and what a client does about it. */
export const ERROR_DOCS: Record<ErrorCode, { when: string; client: string }> = {
  VALIDATION_FAILED: { when: "The body, query or a header fails its schema; `details.issues` lists `{ path, message }`.", client: "Fix the input." },
  MALFORMED_JSON: { when: "The body is not JSON, or the Content-Type is not `application/json`.", client: "Fix the request." },
  UNAUTHENTICATED: { when: "No, malformed, unknown or revoked credentials.", client: "Check the key or sign in." },
  SUBSCRIPTION_INACTIVE: {
    when: "The org has no subscription in `trialing` or `active` (or `past_due` inside the grace days).",
    client: "Start or renew a plan.",
  },
  PAYMENT_FAILED: {
    when: "Stripe refused the charge of the saved card (a top-up): nothing was charged or granted and the invoice was voided; `details` has `reason` (Stripe's words for the customer) and `invoiceId`. A retry with the same `Idempotency-Key` answers the same.",
    client: "Update the card (the Stripe portal), then buy again with a new Idempotency-Key.",
  },
  FORBIDDEN: { when: "Authenticated but not allowed (a cross-site mutation, a non-owner, a non-admin).", client: "Do not retry." },
  FEATURE_NOT_IN_PLAN: {
    when: "A metered feature of the catalog that the org's plan (the version it was bought on) does not include; `details.metric` names it. Nothing is counted.",
    client: "Upgrade to a plan that includes it; do not retry.",
  },
  NOT_FOUND: { when: "Unknown resource, or one of another org (existence is never revealed).", client: "Do not retry." },
  METHOD_NOT_ALLOWED: { when: "The route does not serve this method; `Allow` lists the ones it does.", client: "Use a listed method." },
  IDEMPOTENCY_CONFLICT: {
    when: "A `request_id` reused with another metric, quantity or set of `quantities` (nothing is counted), or an `Idempotency-Key` reused for another plan.",
    client: "Use a new request_id or key.",
  },
  PREVIEW_EXPIRED: {
    when: "An upgrade whose `prorationDate` comes from a preview more than 5 minutes old; nothing is charged.",
    client: "Preview again and show the customer the new amount.",
  },
  PAYLOAD_TOO_LARGE: { when: "The body is over 16 KiB.", client: "Send less." },
  QUOTA_EXCEEDED: {
    when: "The hard stop: `used + quantity > included`, the prepaid credits do not cover the rest and the plan sells no overage of the feature. `Retry-After` = whole seconds until the period ends; `details` has `metric` (the exhausted feature), `used`, `included`, `periodKey`, `periodEnd`, and `topUpUrl` (the portal page where credits of the feature are bought). Nothing is counted; the request_id is not burned.",
    client: "Stop, or upgrade; retrying before `Retry-After` is denied again.",
  },
  SPEND_CAP_REACHED: {
    when: "An admission past the included units and the prepaid credits would take the org's overage charge of the period over its spend cap (`PUT /api/v1/billing/spend-cap`). `Retry-After` = whole seconds until the period ends; `details` has `metric`, `capCents`, `overageCents` (the org's overage charge so far), `periodKey`, `periodEnd`, `topUpUrl`. Nothing is counted; the request_id is not burned.",
    client: "Stop, or have an org admin raise the cap, or buy a top-up; retrying before `Retry-After` is refused again.",
  },
  RATE_LIMITED: {
    when: "The API key's rate limit (its own `rateLimits`, else the org's default; `GET /api/v1/quota` and `POST /api/v1/usage` each take one request, replays included) is used up in the current window. Windows are fixed: they start at multiples of `windowSeconds` since the Unix epoch, so up to twice a limit can pass around a window's edge. `Retry-After` = whole seconds until the exhausted window ends; `details` has `limit`, `windowSeconds`, `retryAfterSeconds`. Nothing is counted: no usage, no place in any window; the request_id is not burned. With Redis (`REDIS_URL`) the limit holds across every app process and machine: each process takes admissions from Redis ahead, in leases counted there by one atomic script on Redis's clock (twice the last lease when that was used up, what was used of it otherwise, at least one per waiting request, at most a window's room divided by `2 × APP_PROCESSES` and at least 1), hands them out one per request, holds a lease until the shortest window ends or for at most 1 s, then gives its unused ones back to the windows still open. So no window ever admits more than its limit; an unused lease can keep its admissions from the other processes until it ends (at most 1 s). A window found full is answered without asking Redis again for up to 1 s. A call to Redis that fails or takes over 500 ms is answered `RATE_LIMITED` with `Retry-After: 1` for every request waiting on it (Redis may have counted the lease), never admitted uncounted. Without Redis (not configured, not connected, or after repeated failures until a probe answers), each app process holds its share, `floor(limit / APP_PROCESSES)` (at least 1), on its own counters: at most `APP_PROCESSES × max(1, floor(limit / APP_PROCESSES))` per window per machine (so at most `limit` when `limit >= APP_PROCESSES`), times the machines; in the window where Redis goes away, what it admitted adds to that.",
    client: "Retry after `Retry-After` with the same request_id.",
  },
  INTERNAL: {
    when: "Anything unexpected; the message is generic and `details` has only `corrId`.",
    client: "Retry with backoff; quote the corrId to support.",
  },
  UPSTREAM_UNAVAILABLE: {
    when: "Stripe (or Stigg) is down, not answering within the request's 5 s deadline, busy (429) or refusing the platform's key on a route that needs it; at once while Stripe's breaker is open; never on the quota and usage routes. `Retry-After` when Stripe is busy, refuses the key or does not answer (60 s).",
    client: "Retry after `Retry-After` or back off (same Idempotency-Key).",
  },
  SERVICE_UNAVAILABLE: {
    when: "The database is briefly unreachable (or a required dependency is failing), with `Retry-After`.",
    client: "Retry after `Retry-After` with the same request_id.",
  },
};

const ERROR_EXAMPLES: Partial<Record<ErrorCode, Json>> = {
  VALIDATION_FAILED: { issues: [{ path: "quantity", message: "Too small: expected number to be >=1" }] },
  QUOTA_EXCEEDED: {
    metric: "api_call",
    used: 50000,
    included: 50000,
    periodKey: "2026-11",
    periodEnd: "2026-12-05T00:00:00.000Z",
    topUpUrl: "http://127.0.0.1:3000/billing/top-ups?metric=api_call",
  },
  SPEND_CAP_REACHED: {
    metric: "api_call",
    capCents: 9900,
    overageCents: 9900,
    periodKey: "2026-11",
    periodEnd: "2026-12-05T00:00:00.000Z",
    topUpUrl: "http://127.0.0.1:3000/billing/top-ups?metric=api_call",
  },
  IDEMPOTENCY_CONFLICT: { request_id: "req_01JDQ8W6Y2N4" },
  RATE_LIMITED: { limit: 100, windowSeconds: 1, retryAfterSeconds: 1 },
  SUBSCRIPTION_INACTIVE: { status: "canceled" },
  PAYMENT_FAILED: { reason: "Your card was declined.", invoiceId: "in_1QxYz" },
  INTERNAL: { corrId: "0b7e3c1a-…" },
};

/**
 * A Zod schema as JSON Schema 2020-12 (the dialect of OpenAPI 3.1). Requests as accepted
 * (unknown fields are refused); answers as sent, but open: fields may be added within v1.
 */
export function jsonSchemaOf(schema: z.ZodType, io: "input" | "output"): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: "draft-2020-12", unrepresentable: "any" }) as Json;
  return io === "output" ? openObjects(rest) : rest;
}

function openObjects<T>(node: T): T {
  if (Array.isArray(node)) return node.map(openObjects) as T;
  if (node === null || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === "additionalProperties" && value === false))
      .map(([key, value]) => [key, openObjects(value)]),
  ) as T;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const header = (name: string) => ({ $ref: `#/components/headers/${name}` });
const idHeaders = { "x-request-id": header("XRequestId"), "x-corr-id": header("XCorrId") };

function errorResponses(op: Operation): Json {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of op.errors) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const out: Json = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const retryAfter = codes.some((c) => c === "QUOTA_EXCEEDED" || c === "SPEND_CAP_REACHED" || c === "RATE_LIMITED" || c === "SERVICE_UNAVAILABLE");
    out[String(status)] = {
      description: codes.map((c) => `\`${c}\`: ${ERROR_DOCS[c].when}`).join("\n\n"),
      headers: retryAfter ? { ...idHeaders, "Retry-After": header("RetryAfter") } : idHeaders,
      content: {
        "application/json": {
          schema: {
            allOf: [ref("ErrorEnvelope"), { type: "object", properties: { error: { type: "object", properties: { code: { enum: codes } } } } }],
          },
          examples: Object.fromEntries(
            codes.map((code) => [
              code,
              { value: { ok: false, error: { code, message: ERROR_DOCS[code].when.split(";")[0], details: ERROR_EXAMPLES[code] ?? {} } } },
            ]),
          ),
        },
      },
    };
  }
  return out;
}

function operationObject(op: Operation): Json {
  const parameters: Json[] = [{ $ref: "#/components/parameters/XRequestId" }];
  if (op.idempotencyKey === "required")
    parameters.push({ name: "Idempotency-Key", in: "header", required: true, schema: jsonSchemaOf(idempotencyKey, "input") });
  else if (op.idempotencyKey) parameters.push({ $ref: "#/components/parameters/IdempotencyKey" });
  for (const name of op.path.match(/\{(\w+)\}/g) ?? []) {
    parameters.push({ name: name.slice(1, -1), in: "path", required: true, schema: { type: "string" } });
  }
  if (op.query) {
    const query = jsonSchemaOf(op.query, "input") as { properties: Record<string, Json>; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties)) {
      parameters.push({ name, in: "query", required: query.required?.includes(name) ?? false, schema });
    }
  }
  const success = op.data
    ? {
        description: op.replays ? "Counted (or, with `Idempotent-Replayed: true`, counted before: this is the first answer again)." : "OK",
        headers: op.replays ? { ...idHeaders, "Idempotent-Replayed": header("IdempotentReplayed") } : idHeaders,
        content: {
          "application/json": {
            schema: { type: "object", required: ["ok", "data"], properties: { ok: { const: true }, data: ref(op.data.name) } },
            ...(op.data.example === undefined ? {} : { example: { ok: true, data: op.data.example } }),
          },
          ...(op.csv ? { "text/csv": { schema: { type: "string", description: op.csv } } } : {}),
        },
      }
    : { description: "The OpenAPI 3.1 document.", content: { "application/json": { schema: { type: "object" } } } };
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    description: op.description,
    security: SECURITY[op.auth],
    parameters,
    ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: ref(op.body.name), example: op.body.example } } } } : {}),
    responses: {
      "200": success,
      ...Object.fromEntries(Object.entries(op.alsoAnswers ?? {}).map(([status, description]) => [status, { ...success, description }])),
      ...errorResponses(op),
    },
  };
}

function components(): Json {
  const schemas: Record<string, Json> = {};
  for (const op of apiOperations()) {
    if (op.body) schemas[op.body.name] = jsonSchemaOf(op.body.schema, "input");
    if (op.data) schemas[op.data.name] = jsonSchemaOf(op.data.schema, "output");
  }
  const codes = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];
  schemas.ErrorEnvelope = jsonSchemaOf(
    z.object({
      ok: z.literal(false),
      error: z.object({
        code: z.string().meta({ description: `One of ${codes.join(", ")}; new codes may be added (act on the HTTP status).` }),
        message: z.string().meta({ description: "For people; may change. Never a stack trace, SQL or a secret." }),
        details: z.record(z.string(), z.unknown()),
      }),
    }),
    "output",
  );
  schemas.ErrorCode = {
    type: "string",
    enum: codes,
    description: "The error codes documented today (the `error.code` of an error envelope); new codes may be added (act on the HTTP status).",
  };
  const sorted = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
  return {
    schemas: sorted,
    securitySchemes: {
      apiKey: {
        type: "http",
        scheme: "bearer",
        description: "An API key of the org (`mk_live_…` / `mk_test_…`), created in the portal; the org is derived from it.",
      },
      session: { type: "apiKey", in: "cookie", name: "__session", description: "The portal session; mutations must come from the app's own origin." },
    },
    parameters: {
      XRequestId: {
        name: "x-request-id",
        in: "header",
        required: false,
        description: "Your id for this request (1–128 of A-Z a-z 0-9 . _ : -); echoed in the answer, generated when absent.",
        schema: { type: "string" },
      },
      IdempotencyKey: { name: "Idempotency-Key", in: "header", required: false, schema: jsonSchemaOf(idempotencyKey, "input") },
    },
    headers: {
      XRequestId: { description: "The request's id: yours when valid, else generated. Quote it to support.", required: true, schema: { type: "string" } },
      XCorrId: { description: "The correlation id of the logs of this request.", required: true, schema: { type: "string" } },
      RetryAfter: {
        description: "Whole seconds to wait before retrying; always sent with `QUOTA_EXCEEDED`, `SPEND_CAP_REACHED`, `RATE_LIMITED` and `SERVICE_UNAVAILABLE`.",
        schema: { type: "integer", minimum: 0 },
      },
      IdempotentReplayed: { description: "`true` when this answer replays the first one for the same request_id.", schema: { type: "string", enum: ["true"] } },
    },
  };
}

/**
 * The events sent to the org's webhook endpoints (OpenAPI 3.1 `webhooks`): one POST per type,
 * signed per Standard Webhooks; a 2xx answer is a delivery, anything else is retried.
 */
function webhooks(): Json {
  const out: Json = {};
  for (const type of EVENT_TYPES) {
    const body = jsonSchemaOf(eventEnvelope.extend({ type: z.literal(type), data: eventData[type] }), "output");
    out[type] = {
      post: {
        summary: type,
        description: "Sent with `webhook-id`, `webhook-timestamp` and `webhook-signature` headers (Standard Webhooks). Verify them before trusting the body.",
        requestBody: { required: true, content: { "application/json": { schema: body } } },
        responses: { "2XX": { description: "Delivered. Any other answer, or none within 10 s, is retried with backoff for about three days." } },
      },
    };
  }
  return out;
}

let cached: Json | null = null;

/** The document (built once per process: it depends only on code). */
export function openApiDocument(): Json {
  if (cached) return cached;
  const ops = apiOperations();
  const paths: Record<string, Json> = {};
  for (const op of ops) paths[op.path] = { ...(paths[op.path] ?? {}), [op.method]: operationObject(op) };
  cached = {
    openapi: "3.1.0",
    info: {
      title: "Metered API",
      version: "1.0.0",
      description:
        "Quota checks and exactly-once usage records for API clients; billing and keys for the portal. Every JSON answer of `/api/v1` is an envelope: `{ ok: true, data }` or `{ ok: false, error: { code, message, details } }`.",
    },
    servers: [{ url: "/" }],
    tags: [...new Set(ops.map((o) => o.tag))].map((name) => ({ name })),
    paths,
    webhooks: webhooks(),
    components: components(),
  };
  return cached;
}
