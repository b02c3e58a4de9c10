// Pages (HTML) go out compressed like the static assets: brotli, else gzip, as Accept-Encoding
// allows. Compressed as they stream (the shell is sent before the rest is rendered), at a level
// cheap enough for a page rendered per request; assets, compressed once, use a higher one.
import { acceptedEncoding } from "./static-files.server";

// brotli's default (11) takes ~650 ms for a 200 KB page; 5 takes ~3 ms and is within a few % of its
// size. gzip 6 is zlib's default.
const LEVEL = { br: 5, gzip: 6 } as const;
// Below this a page is not worth a compressor (an error page, a redirect's body).
const MIN_BYTES = 1024;

// Bun's CompressionStream takes brotli and a level (bun-types); the DOM library's type, which
// TypeScript picks here, knows neither.
const Compressor = CompressionStream as unknown as new (format: "brotli" | "gzip", options: { level: number }) => CompressionStream;

/** The page's response, compressed when it is HTML with a body and the client accepts an encoding. */
export function compressPage(request: Request, response: Response): Response {
  if (!response.body || response.headers.has("Content-Encoding") || request.method === "HEAD") return response;
  if (!response.headers.get("Content-Type")?.startsWith("text/html")) return response;
  const length = response.headers.get("Content-Length");
  if (length !== null && Number(length) < MIN_BYTES) return response;
  const encoding = acceptedEncoding(request);
  if (!encoding) return response;
  const headers = new Headers(response.headers);
  headers.set("Content-Encoding", encoding);
  headers.delete("Content-Length");
  headers.append("Vary", "Accept-Encoding");
  const body = response.body.pipeThrough(new Compressor(encoding === "br" ? "brotli" : "gzip", { level: LEVEL[encoding] }));
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}
