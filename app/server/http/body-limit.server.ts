// The one cap on request bodies, applied at the server boundary before any route runs. A declared
// Content-Length over the cap is refused without reading a byte; a body without one (chunked) is
// counted as it streams, and its reader fails (PayloadTooLarge, 413) at the first byte over.
import { PayloadTooLarge } from "../platform/errors.server";

const KiB = 1024;
/** Stripe's events are a few KiB; a whole subscription with its items stays far below this. */
export const WEBHOOK_BODY_LIMIT = 1024 * KiB;
/** API JSON bodies (docs/api.md: 16 KiB; the routes' bodies are all far smaller). */
export const API_BODY_LIMIT = 16 * KiB;
/** Portal form posts, and anything else. */
export const FORM_BODY_LIMIT = 64 * KiB;

export function bodyLimitFor(pathname: string): number {
  if (pathname === "/api/webhooks/stripe") return WEBHOOK_BODY_LIMIT;
  return pathname.startsWith("/api/") ? API_BODY_LIMIT : FORM_BODY_LIMIT;
}

/** The request to serve, its body capped at `limit`; or, for a declared size over it, the error. */
export function capBody(request: Request, limit: number): Request | PayloadTooLarge {
  const declared = request.headers.get("content-length");
  // Bun frames a body by its Content-Length: a declared size within the cap is the real size.
  if (declared !== null) return Number(declared) > limit ? new PayloadTooLarge(limit) : request;
  // HTTP/1.1: without Content-Length, only Transfer-Encoding carries a body.
  if (!request.headers.has("transfer-encoding") || !request.body) return request;
  let seen = 0;
  const counted = request.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, stream) {
        seen += chunk.byteLength;
        if (seen > limit) stream.error(new PayloadTooLarge(limit));
        else stream.enqueue(chunk);
      },
    }),
  );
  return new Request(request.url, { method: request.method, headers: request.headers, body: counted, signal: request.signal, duplex: "half" } as RequestInit);
}
