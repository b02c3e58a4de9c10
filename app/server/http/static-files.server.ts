// The built assets (public/): text assets go out compressed (brotli, else gzip, as
// Accept-Encoding allows), each variant compressed once and kept in memory; hashed /build/ files
// are cached by browsers for good.
import { join, normalize } from "node:path";
import { brotliCompressSync, constants as zlib } from "node:zlib";

const COMPRESSIBLE = /\.(js|css|svg|json|map|txt)$/;

function encodingFor(request: Request, path: string): "br" | "gzip" | null {
  if (!COMPRESSIBLE.test(path)) return null;
  return acceptedEncoding(request);
}

/** brotli, else gzip, as the request's Accept-Encoding allows; null: send it as it is. */
export function acceptedEncoding(request: Request): "br" | "gzip" | null {
  const accepts = (request.headers.get("accept-encoding") ?? "").split(",").map((e) => e.trim().split(";"));
  const allowed = (name: string) => accepts.some(([e, q]) => e === name && q?.trim() !== "q=0");
  return allowed("br") ? "br" : allowed("gzip") ? "gzip" : null;
}

/** Serves files below `publicDir`; null for a path that names none. */
export function staticFiles(publicDir: string): (request: Request, pathname: string) => Promise<Response | null> {
  const compressed = new Map<string, { lastModified: number; bytes: Uint8Array<ArrayBuffer> }>();
  return async (request, pathname) => {
    const path = normalize(join(publicDir, pathname));
    if (!path.startsWith(`${publicDir}/`)) return null;
    const file = Bun.file(path);
    if (!(await file.exists())) return null;
    const immutable = pathname.startsWith("/build/");
    const headers: Record<string, string> = {
      "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "public, max-age=86400",
      "Content-Type": file.type,
      Vary: "Accept-Encoding",
    };
    const encoding = encodingFor(request, path);
    if (!encoding) return new Response(file, { headers });
    const key = `${encoding}:${path}`;
    let entry = compressed.get(key);
    if (!entry || entry.lastModified !== file.lastModified) {
      const raw = new Uint8Array(await file.arrayBuffer());
      const bytes = encoding === "br" ? brotliCompressSync(raw, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9 } }) : Bun.gzipSync(raw, { level: 9 });
      entry = { lastModified: file.lastModified, bytes: new Uint8Array(bytes) };
      compressed.set(key, entry);
    }
    return new Response(entry.bytes, { headers: { ...headers, "Content-Encoding": encoding } });
  };
}
