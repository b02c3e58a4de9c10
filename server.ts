// The production HTTP server: Bun.serve in front of the Remix request handler, serving the
// built assets itself. Hot API routes run the same Remix route modules.
import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import { existsSync } from "node:fs";
import { join, normalize } from "node:path";
import { brotliCompressSync, constants as zlib } from "node:zlib";
import { config } from "./app/server/platform/config.server";
import { log } from "./app/server/platform/log.server";
import { syncPlanCatalog } from "./app/server/billing/plans.server";
import { bodyLimitFor, capBody } from "./app/server/platform/body-limit.server";
import { AppError, NotFound } from "./app/server/platform/errors.server";
import { contextOf, errorResponse, pageRefusal, withIds } from "./app/server/platform/http.server";
import { inRequest } from "./app/server/platform/request-context.server";
import { HOT_ROUTES, hotRoutesOf } from "./app/server/platform/declared-route.server";
import { crossSiteRefused, isSameOrigin } from "./app/server/auth/same-origin.server";
import { guardProcess } from "./app/server/platform/process-guard.server";
import { INSTANCE_ID } from "./app/server/platform/instance.server";
import { initSentry } from "./app/server/observe/sentry.server";
import { metricsResponse } from "./app/server/observe/metrics.server";
import { observeHttp, routePatterns } from "./app/server/observe/http-metrics.server";
import { stopGracefully } from "./app/server/platform/shutdown.server";

const buildPath = join(import.meta.dir, "build", "index.js");
if (!existsSync(buildPath)) {
  console.error("No Remix build found: run `bun run build` first.");
  process.exit(1);
}
// Before the build loads, so its modules report to an initialised Sentry (no-op without a DSN).
await initSentry("app");
const build = (await import(buildPath)) as ServerBuild;
const handle = createRequestHandler(build, config.NODE_ENV === "development" ? "production" : config.NODE_ENV);
const publicDir = join(import.meta.dir, "public");

// The hot API routes (the quota read and the usage write) are dispatched to their declared route
// (the `route` their module exports) directly, skipping the router's matching work, which costs
// more than the route itself. Same code, same behaviour as through the Remix handler. A hot route
// renamed or no longer declared stops the server here, at start.
const hot = (() => {
  try {
    return hotRoutesOf(build.routes, HOT_ROUTES);
  } catch (err) {
    log.fatal({ err }, "cannot start: a hot route is missing");
    process.exit(1);
  }
})();
// Neither route has path parameters or reads the load context: one pair shared by every call.
const NO_PARAMS = Object.freeze({});
const NO_CONTEXT = Object.freeze({});

await syncPlanCatalog();

/** API routes are resource routes: Remix's page-data protocol (`?_data=<route>`) is not theirs. */
function withoutDataParam(request: Request): Request {
  if (!request.url.includes("_data")) return request;
  const url = new URL(request.url);
  url.searchParams.delete("_data");
  return new Request(url, request);
}

// Text assets go out compressed (brotli, else gzip, as Accept-Encoding allows), each variant
// compressed once and kept in memory; hashed /build/ files are cached by browsers for good.
const COMPRESSIBLE = /\.(js|css|svg|json|map|txt)$/;
const compressed = new Map<string, { lastModified: number; bytes: Uint8Array<ArrayBuffer> }>();

function encodingFor(request: Request, path: string): "br" | "gzip" | null {
  if (!COMPRESSIBLE.test(path)) return null;
  const accepts = (request.headers.get("accept-encoding") ?? "").split(",").map((e) => e.trim().split(";"));
  const allowed = (name: string) => accepts.some(([e, q]) => e === name && q?.trim() !== "q=0");
  return allowed("br") ? "br" : allowed("gzip") ? "gzip" : null;
}

async function staticFile(request: Request, pathname: string): Promise<Response | null> {
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
}

// Bun's own cap, a backstop behind capBody: a body declared larger is refused by Bun before our
// code runs (413, empty body); anything below it gets the envelope from capBody.
const BACKSTOP_BODY_LIMIT = 16 * 1024 * 1024;

const server = Bun.serve({
  hostname: config.HOST,
  port: config.PORT,
  maxRequestBodySize: BACKSTOP_BODY_LIMIT,
  // Scale-out: several app processes listen on one port and the kernel spreads connections over
  // them (SO_REUSEPORT, Linux). A program that did not set it still makes the port "in use".
  reusePort: true,
  fetch: observeHttp(async (incoming) => {
    let pathname: string;
    try {
      ({ pathname } = new URL(incoming.url));
    } catch {
      // Bun builds the URL from the Host header: one that is not a host makes no URL.
      return errorResponse(contextOf(incoming), new AppError("VALIDATION_FAILED", "The Host header is missing or not a valid host."));
    }
    if (pathname === "/metrics" && incoming.method === "GET") return metricsResponse(incoming);
    // The router matches paths in any case, but the API's checks key on "/api/": an /API/ path is
    // no API route (404 in the envelope), not a page.
    if (!pathname.startsWith("/api/") && /^\/api\//i.test(pathname)) return errorResponse(contextOf(incoming), NotFound("API route"));
    const request = capBody(incoming, bodyLimitFor(pathname));
    if (!(request instanceof Request)) return errorResponse(contextOf(incoming), request);
    // A page post that fails the same-origin rule (app/server/auth/same-origin.server.ts) is
    // refused here with a clear 403 (Remix would refuse it too, but as a 500). Session API routes
    // apply the same rule themselves.
    if (!pathname.startsWith("/api/") && !isSameOrigin(request)) return pageRefusal(contextOf(request), crossSiteRefused());
    const route = hot.get(pathname);
    if (route)
      return (request.method === "GET" || request.method === "HEAD" ? route.loader : route.action)({ request, params: NO_PARAMS, context: NO_CONTEXT });
    if (request.method === "GET" && (pathname.startsWith("/build/") || pathname === "/favicon.ico" || pathname === "/favicon.svg")) {
      const file = await staticFile(request, pathname);
      if (file) return file;
    }
    // Pages run in the request's context too, so an error they log carries the ids the answer has.
    const ctx = contextOf(request);
    return withIds(ctx, await inRequest(ctx, () => handle(pathname.startsWith("/api/") ? withoutDataParam(request) : request)));
  }, routePatterns(build)),
  // An error that escaped every route's own boundary: logged once (and sent to Sentry), the
  // envelope with a corrId.
  error(err) {
    return errorResponse({ requestId: crypto.randomUUID(), corrId: crypto.randomUUID() }, err);
  },
});

let stopping = false;
// Once serving, a request's stray error is logged; it never ends the process serving every other
// tenant. (Installed only now: a failure to start must still stop the process, non-zero.)
guardProcess(() => stopping);

// Written whatever LOG_LEVEL says: where this process listens and its instance id (run.ts and the
// tests tell their own process from another one on the same port by it).
log.child({}, { level: "info" }).info({ url: `http://${server.hostname}:${server.port}`, instanceId: INSTANCE_ID }, "app listening");

// Graceful stop (app/server/platform/shutdown.server.ts): stop accepting, finish in-flight requests,
// answer queued usage batches, flush key last-used times, then exit.
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  await stopGracefully(server, signal);
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
