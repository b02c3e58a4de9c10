// The API boundary: envelopes, request/correlation ids, body parsing and the one place that maps
// thrown errors to responses. No stack, SQL or secret ever reaches a client.
import type { z } from "zod";
import { AppError, ServiceUnavailable } from "./errors.server";
import type { ErrorCode } from "./errors.server";
import { log } from "./log.server";
import { captureException } from "./sentry.server";

export type Envelope<T> = { ok: true; data: T } | { ok: false; error: { code: ErrorCode; message: string; details: Record<string, unknown> } };

export const wrapSuccess = <T>(data: T) => ({ ok: true as const, data });
export const wrapError = (code: ErrorCode, message: string, details: Record<string, unknown> = {}) => ({
  ok: false as const,
  error: { code, message, details },
});

export type ApiContext = { requestId: string; corrId: string; orgId?: string };

const ID_SHAPE = /^[A-Za-z0-9._:-]{1,128}$/;
const JSON_TYPE = "application/json; charset=utf-8";

function idFrom(header: string | null): string {
  return header && ID_SHAPE.test(header) ? header : crypto.randomUUID();
}

export function json(ctx: ApiContext, status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": JSON_TYPE, "x-request-id": ctx.requestId, "x-corr-id": ctx.corrId, ...headers },
  });
}

export const ok = (ctx: ApiContext, data: unknown, headers?: Record<string, string>) => json(ctx, 200, wrapSuccess(data), headers);

// Postgres down, restarting or refusing connections: a 503 the client can retry, not a 500.
function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; errno?: string };
  const code = e?.code ?? e?.errno ?? "";
  return (
    ["ECONNREFUSED", "ECONNRESET", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "57P01", "57P02", "57P03"].includes(
      code,
    ) || code.startsWith("08")
  );
}

export function errorResponse(ctx: ApiContext, err: unknown): Response {
  const known = err instanceof AppError ? err : isDatabaseUnavailable(err) ? new ServiceUnavailable() : null;
  if (known) {
    if (known.status >= 500) log.warn({ corr_id: ctx.corrId, request_id: ctx.requestId, orgId: ctx.orgId, code: known.code, err }, "request failed");
    return json(ctx, known.status, wrapError(known.code, known.message, known.details), known.headers);
  }
  log.error({ corr_id: ctx.corrId, request_id: ctx.requestId, orgId: ctx.orgId, err }, "unexpected error");
  captureException(err, { corr_id: ctx.corrId, request_id: ctx.requestId, org_id: ctx.orgId });
  return json(ctx, 500, wrapError("INTERNAL", "Something went wrong on our side. Quote the corrId when you contact support.", { corrId: ctx.corrId }));
}

/** Wraps a Remix loader/action of an /api route: ids, error boundary, envelope headers. */
export function apiRoute(handler: (request: Request, ctx: ApiContext) => Promise<Response>) {
  return async ({ request }: { request: Request }): Promise<Response> => {
    const requestId = idFrom(request.headers.get("x-request-id"));
    const ctx: ApiContext = { requestId, corrId: idFrom(request.headers.get("x-corr-id")) };
    try {
      return await handler(request, ctx);
    } catch (err) {
      return errorResponse(ctx, err);
    }
  };
}

export const BODY_LIMIT = 16 * 1024;

/** Reads a JSON body: wrong content type or bad JSON → MALFORMED_JSON, over the limit → 413. */
export async function readJson(request: Request, limit = BODY_LIMIT): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new AppError("MALFORMED_JSON", "Send a JSON body with Content-Type: application/json.");
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw new AppError("PAYLOAD_TOO_LARGE", `The body is larger than ${limit} bytes.`, { limit });
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > limit) throw new AppError("PAYLOAD_TOO_LARGE", `The body is larger than ${limit} bytes.`, { limit });
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new AppError("MALFORMED_JSON", "The body is not valid JSON.");
  }
}

export function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: i.path.map(String).join(".") || "(root)", message: i.message }));
  throw new AppError("VALIDATION_FAILED", `Invalid input: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, { issues });
}
