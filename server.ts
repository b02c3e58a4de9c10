// The production HTTP server: Bun.serve in front of the Remix request handler, serving the
// built assets itself. Hot API routes run the same Remix route modules.
import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import { existsSync } from "node:fs";
import { join, normalize } from "node:path";
import { config } from "./app/server/config.server";
import { log } from "./app/server/log.server";
import { syncPlanCatalog } from "./app/server/plans.server";
import { flushKeyUsage } from "./app/server/keys.server";
import { sql } from "./app/server/db.server";
import { closeCache } from "./app/server/cache.server";
import { captureException, initSentry } from "./app/server/sentry.server";
import { metricsResponse } from "./app/server/metrics.server";
import { flushObservations, observeHttp, routePatterns } from "./app/server/observe-http.server";

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

// The hot API routes (4.1, 4.2) are resource routes whose modules always return a Response; they
// are dispatched to their route module directly, skipping the router's matching work, which
// costs more than the route itself. Same code, same behaviour as through the Remix handler.
type RouteFn = (args: { request: Request; params: Record<string, string>; context: Record<string, unknown> }) => Promise<Response>;
const HOT_ROUTES: Record<string, string> = { "/api/v1/quota": "routes/api.v1.quota", "/api/v1/usage": "routes/api.v1.usage" };
const hot = new Map<string, { loader: RouteFn; action: RouteFn }>();
for (const [path, id] of Object.entries(HOT_ROUTES)) {
  const mod = build.routes[id]?.module as unknown as { loader: RouteFn; action: RouteFn } | undefined;
  if (mod) hot.set(path, mod);
}

await syncPlanCatalog();

/** Pages get the same x-request-id / x-corr-id headers as the API's envelopes. */
function withIds(request: Request, response: Response): Response {
  if (response.headers.has("x-request-id")) return response;
  const shape = /^[A-Za-z0-9._:-]{1,128}$/;
  const given = request.headers.get("x-request-id");
  const requestId = given && shape.test(given) ? given : crypto.randomUUID();
  const corr = request.headers.get("x-corr-id");
  try {
    response.headers.set("x-request-id", requestId);
    response.headers.set("x-corr-id", corr && shape.test(corr) ? corr : requestId);
    return response;
  } catch {
    // Immutable headers (a redirect built by the runtime): copy them.
    const headers = new Headers(response.headers);
    headers.set("x-request-id", requestId);
    headers.set("x-corr-id", corr && shape.test(corr) ? corr : requestId);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

function isCrossSite(request: Request): boolean {
  const origin = request.headers.get("origin");
  if (!origin) return false;
  try {
    return new URL(origin).host !== new URL(request.url).host;
  } catch {
    return true;
  }
}

async function staticFile(pathname: string): Promise<Response | null> {
  const path = normalize(join(publicDir, pathname));
  if (!path.startsWith(`${publicDir}/`)) return null;
  const file = Bun.file(path);
  if (!(await file.exists())) return null;
  const immutable = pathname.startsWith("/build/");
  return new Response(file, { headers: { "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "public, max-age=3600" } });
}

const server = Bun.serve({
  hostname: config.HOST,
  port: config.PORT,
  fetch: observeHttp(async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/metrics" && request.method === "GET") return metricsResponse(request);
    // A cross-site form post to a page is refused here with a clear 403 (Remix would refuse it
    // too, but as a 500). Session API routes check the origin themselves (auth.server.ts).
    if (request.method !== "GET" && request.method !== "HEAD" && !pathname.startsWith("/api/") && isCrossSite(request)) {
      return new Response("Cross-site request refused.", { status: 403, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    }
    const route = hot.get(pathname);
    if (route) return (request.method === "GET" || request.method === "HEAD" ? route.loader : route.action)({ request, params: {}, context: {} });
    if (request.method === "GET" && (pathname.startsWith("/build/") || pathname === "/favicon.ico")) {
      const file = await staticFile(pathname);
      if (file) return file;
    }
    return withIds(request, await handle(request));
  }, routePatterns(build)),
  error(err) {
    log.error({ err }, "unhandled server error");
    captureException(err, { where: "bun.serve" });
    return new Response(JSON.stringify({ ok: false, error: { code: "INTERNAL", message: "Something went wrong on our side.", details: {} } }), {
      status: 500,
      headers: { "Content-Type": "application/json; charset=utf-8" },
    });
  },
});

log.info({ url: `http://${server.hostname}:${server.port}` }, "app listening");

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "app stopping");
  await server.stop();
  await flushKeyUsage().catch(() => {});
  await flushObservations();
  await closeCache();
  await sql.end({ timeout: 5 });
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
