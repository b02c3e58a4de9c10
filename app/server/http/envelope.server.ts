// The API boundary: envelopes, request/correlation ids, body parsing and the one place that maps
// thrown errors to responses (route.server.ts declares the routes on top of it). No stack, SQL or
// secret ever reaches a client.
import { ID_PATTERN } from "../domain/vocabulary.server";
import { captureException } from "../observe/sentry.server";
import { isDatabaseTimeout, isDatabaseUnavailable, noteDatabaseError } from "../platform/db.server";
import type { ErrorCode } from "../platform/errors.server";
import { AppError, nulRefused, PayloadTooLarge, ServiceUnavailable } from "../platform/errors.server";
import { log } from "../platform/log.server";
import { API_BODY_LIMIT } from "./body-limit.server";

export type Envelope<T> = { ok: true; data: T } | { ok: false; error: { code: ErrorCode; message: string; details: Record<string, unknown> } };

export const wrapSuccess = <T>(data: T) => ({ ok: true as const, data });
export const wrapError = (code: ErrorCode, message: string, details: Record<string, unknown> = {}) => ({
  ok: false as const,
  error: { code, message, details },
});

export type ApiContext = { requestId: string; corrId: string; orgId?: string };

const JSON_TYPE = "application/json; charset=utf-8";

function idFrom(header: string | null): string {
  return header && ID_PATTERN.test(header) ? header : crypto.randomUUID();
}

/** The request's ids: the client's x-request-id / x-corr-id when well-formed, else generated. */
export function contextOf(request: Request): ApiContext {
  const requestId = idFrom(request.headers.get("x-request-id"));
  return { requestId, corrId: idFrom(request.headers.get("x-corr-id")) };
}

export function json(ctx: ApiContext, status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": JSON_TYPE, "x-request-id": ctx.requestId, "x-corr-id": ctx.corrId, ...headers },
  });
}

/** Pages get the same x-request-id / x-corr-id headers as the API's envelopes. */
export function withIds(ctx: ApiContext, response: Response): Response {
  if (response.headers.has("x-request-id")) return response;
  try {
    response.headers.set("x-request-id", ctx.requestId);
    response.headers.set("x-corr-id", ctx.corrId);
    return response;
  } catch {
    // Immutable headers (a redirect built by the runtime): copy them.
    const headers = new Headers(response.headers);
    headers.set("x-request-id", ctx.requestId);
    headers.set("x-corr-id", ctx.corrId);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

/** A refusal answered to a page request (not /api): the message as short plain text, with the ids. */
export function pageRefusal(ctx: ApiContext, e: AppError): Response {
  return new Response(e.message, {
    status: e.status,
    headers: { "Content-Type": "text/plain; charset=utf-8", "x-request-id": ctx.requestId, "x-corr-id": ctx.corrId, ...e.headers },
  });
}

export const ok = (ctx: ApiContext, data: unknown, headers?: Record<string, string>) => json(ctx, 200, wrapSuccess(data), headers);

/** An expected refusal in the envelope, not logged (the breaker's 503, a 405). */
export const envelopeOf = (ctx: ApiContext, e: AppError) => json(ctx, e.status, wrapError(e.code, e.message, e.details), e.headers);

export function errorResponse(ctx: ApiContext, err: unknown): Response {
  noteDatabaseError(err);
  // Postgres down, restarting, refusing connections, not answering in time, or cutting a statement
  // off at its timeout: a 503 the client can retry (with the same request_id), not a 500.
  const known = err instanceof AppError ? err : isDatabaseUnavailable(err) || isDatabaseTimeout(err) ? new ServiceUnavailable() : null;
  if (known) {
    if (known.status >= 500) log.warn({ corr_id: ctx.corrId, request_id: ctx.requestId, orgId: ctx.orgId, code: known.code, err }, "request failed");
    return envelopeOf(ctx, known);
  }
  log.error({ corr_id: ctx.corrId, request_id: ctx.requestId, orgId: ctx.orgId, err }, "unexpected error");
  captureException(err, { corr_id: ctx.corrId, request_id: ctx.requestId, org_id: ctx.orgId });
  return json(ctx, 500, wrapError("INTERNAL", "Something went wrong on our side. Quote the corrId when you contact support.", { corrId: ctx.corrId }));
}

const JSON_CONTENT_TYPE = /^application\/json\s*(;|$)/i;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Reads a JSON body: wrong content type or bad JSON → MALFORMED_JSON, over the limit → 413. */
export async function readJson(request: Request, limit = API_BODY_LIMIT): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!JSON_CONTENT_TYPE.test(type)) throw new AppError("MALFORMED_JSON", "Send a JSON body with Content-Type: application/json.");
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw new PayloadTooLarge(limit);
  const bytes = await bodyBytes(request);
  if (bytes.byteLength > limit) throw new PayloadTooLarge(limit);
  let text: string;
  let body: unknown;
  try {
    text = UTF8.decode(bytes);
    body = JSON.parse(text);
  } catch {
    throw new AppError("MALFORMED_JSON", "The body is not valid JSON.");
  }
  // Postgres text cannot hold NUL: refused here, as bad input, not as a failed insert (a 500).
  // JSON can only carry it escaped (a raw control character is invalid JSON).
  if (text.includes("\\u0000")) {
    const at = nulPath(body, []);
    if (at !== null) throw nulRefused(at.join("."));
  }
  return body;
}

/**
 * The request's body, whole. A body cut off (the client closed the connection, or sent less than
 * its Content-Length and went quiet past the server's idle timeout) is the client's doing: 400,
 * not logged, never a 500. Over the body limit (PayloadTooLarge, from the server boundary) keeps
 * its own status.
 */
export async function bodyBytes(request: Request): Promise<ArrayBuffer> {
  try {
    return await request.arrayBuffer();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError("MALFORMED_JSON", "The body did not arrive whole.");
  }
}

/** The request's body as text (UTF-8), whole: as bodyBytes. */
export async function bodyText(request: Request): Promise<string> {
  return new TextDecoder().decode(await bodyBytes(request));
}

/** Where a parsed JSON value has its first NUL character (in a string, a key or a value), or null. */
function nulPath(value: unknown, path: (string | number)[]): (string | number)[] | null {
  if (typeof value === "string") return value.includes("\0") ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = nulPath(value[i], [...path, i]);
      if (at !== null) return at;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      // A key with NUL is named as JSON can write it.
      if (k.includes("\0")) return [...path, k.replaceAll("\0", "\\u0000")];
      const at = nulPath(v, [...path, k]);
      if (at !== null) return at;
    }
  }
  return null;
}
