// The app process: Bun.serve in front of the Remix request handler. server.ts loads the build and
// hands it here (the build's entry exports this), so every module of the app exists once per
// process: one Postgres pool and breaker, one key cache, one usage group commit, and the graceful
// stop drains the copies that served. Hot API routes run their declared route directly.
import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import { crossSiteRefused, isSameOrigin } from "./auth/same-origin.server";
import { syncPlanCatalog } from "./billing/plans.server";
import { preparePortal } from "./billing/portal.server";
import { STRIPE_WEBHOOK_PATH } from "./billing/webhook-events.server";
import { bodyLimitFor, capBody } from "./http/body-limit.server";
import { compressPage } from "./http/compress-page.server";
import { contextOf, errorResponse, pageRefusal, withIds } from "./http/envelope.server";
import { observeHttp, routePatterns } from "./http/http-metrics.server";
import { type ApiRoute, HOT_PARAM_ROUTES, HOT_ROUTES, hotParamOf, hotRoutesOf } from "./http/route.server";
import { staticFiles } from "./http/static-files.server";
import { metricsResponse, watchBreaker } from "./observe/metrics.server";
import { cacheBreaker, scriptBreaker } from "./platform/cache.server";
import { config } from "./platform/config.server";
import { AppError, NotFound } from "./platform/errors.server";
import { INSTANCE_ID } from "./platform/instance.server";
import { log } from "./platform/log.server";
import { guardProcess } from "./platform/process-guard.server";
import { inRequest } from "./platform/request-context.server";
import { stopGracefully } from "./shutdown.server";

// Bun's own cap, a backstop behind capBody: a body declared larger is refused by Bun before our
// code runs (413, empty body); anything below it gets the envelope from capBody.
const BACKSTOP_BODY_LIMIT = 16 * 1024 * 1024;
// Routes the server runs directly, skipping the router's matching, which costs more than the route
// itself: the hot paths, and Stripe's webhooks (which come in storms: a burst of renewals, a
// backlog redelivered). Same code, same behaviour as through the router.
const DIRECT_ROUTES: Record<string, string> = { ...HOT_ROUTES, [STRIPE_WEBHOOK_PATH]: "routes/api.webhooks.stripe" };
// They have no path parameters and read no load context: one pair shared by every call. The hot
// routes with a path parameter (HOT_PARAM_ROUTES) get theirs from the path.
const NO_PARAMS = Object.freeze({});
const NO_CONTEXT = Object.freeze({});

/** API routes are resource routes: Remix's page-data protocol (`?_data=<route>`) is not theirs. */
function withoutDataParam(request: Request): Request {
  if (!request.url.includes("_data")) return request;
  const url = new URL(request.url);
  url.searchParams.delete("_data");
  return new Request(url, request);
}

/** Serves the build on HOST:PORT until SIGTERM or SIGINT, then stops gracefully and exits. */
export async function startServer(build: ServerBuild, opts: { publicDir: string }): Promise<void> {
  if (cacheBreaker) watchBreaker(cacheBreaker);
  if (scriptBreaker) watchBreaker(scriptBreaker);
  const handle = createRequestHandler(build, config.NODE_ENV === "development" ? "production" : config.NODE_ENV);
  const staticFile = staticFiles(opts.publicDir);
  // A direct route renamed or no longer declared stops the server here, at start.
  let direct: ReturnType<typeof hotRoutesOf>;
  let directWithParam: { prefix: string; param: string; route: ApiRoute }[];
  try {
    direct = hotRoutesOf(build.routes, DIRECT_ROUTES);
    const withParam = hotRoutesOf(build.routes, Object.fromEntries(HOT_PARAM_ROUTES.map((hot) => [hot.prefix, hot.id])));
    directWithParam = HOT_PARAM_ROUTES.map((hot) => ({ prefix: hot.prefix, param: hot.param, route: withParam.get(hot.prefix)! }));
  } catch (err) {
    log.fatal({ err }, "cannot start: a directly served route is missing");
    process.exit(1);
  }
  await syncPlanCatalog();
  // Not awaited: Stripe may be slow or away; the first portal session makes it then.
  void preparePortal();

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
      // A page post that fails the same-origin rule (auth/same-origin.server.ts) is refused here
      // with a clear 403 (Remix would refuse it too, but as a 500). Session API routes apply the
      // same rule themselves.
      if (!pathname.startsWith("/api/") && !isSameOrigin(request)) return pageRefusal(contextOf(request), crossSiteRefused());
      const route = direct.get(pathname);
      if (route)
        return (request.method === "GET" || request.method === "HEAD" ? route.loader : route.action)({ request, params: NO_PARAMS, context: NO_CONTEXT });
      for (const hot of directWithParam) {
        const value = hotParamOf(pathname, hot.prefix);
        if (value === undefined) continue;
        const params = { [hot.param]: value };
        return (request.method === "GET" || request.method === "HEAD" ? hot.route.loader : hot.route.action)({ request, params, context: NO_CONTEXT });
      }
      if (request.method === "GET" && (pathname.startsWith("/build/") || pathname === "/favicon.ico" || pathname === "/favicon.svg")) {
        const file = await staticFile(request, pathname);
        if (file) return file;
      }
      // Pages run in the request's context too, so an error they log carries the ids the answer has.
      const ctx = contextOf(request);
      if (pathname.startsWith("/api/")) return withIds(ctx, await inRequest(ctx, () => handle(withoutDataParam(request))));
      return compressPage(request, withIds(ctx, await inRequest(ctx, () => handle(request))));
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

  // Stop accepting, finish in-flight requests, answer queued usage batches, flush key last-used
  // times, then exit (shutdown.server.ts).
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    await stopGracefully(server, signal);
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}
