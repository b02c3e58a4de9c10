// Observation of every request Bun.serve answers: its duration in the HTTP histogram (by route
// pattern, never the raw URL), the quota SLO buckets, a Sentry transaction when tracing is on,
// and one JSON access-log line (hot routes only when sampled, ACCESS_LOG_SAMPLE).
import type { ServerBuild } from "@remix-run/node";
import { metricsEnabled, observeRequest } from "../observe/metrics.server";
import { withSentryRequest } from "../observe/sentry.server";
import { observeSlo } from "../observe/slo.server";
import { config } from "../platform/config.server";
import { log } from "../platform/log.server";
import { HOT_ROUTES, hotParamPatternOf } from "./route.server";

type Handler = (request: Request) => Promise<Response>;

/** The hot routes: observed without any per-request allocation but the label key. */
export const HOT_PATHS = new Set(Object.keys(HOT_ROUTES));
const QUOTA_PATH = "/api/v1/quota";

type Pattern = { pattern: string; re: RegExp; score: number };

/** Maps a path to the pattern of the Remix route that serves it ("/api/v1/keys/:id"). */
export function routePatterns(build: Pick<ServerBuild, "routes">): (pathname: string) => string {
  const routes = build.routes as Record<string, { id: string; parentId?: string; path?: string; index?: boolean }>;
  const fullPath = (id: string): string[] => {
    const r = routes[id];
    if (!r) return [];
    const own = r.path ? r.path.split("/").filter(Boolean) : [];
    return [...(r.parentId ? fullPath(r.parentId) : []), ...own];
  };
  const patterns: Pattern[] = [];
  for (const r of Object.values(routes)) {
    if (!r.path && !r.index) continue;
    const segments = fullPath(r.id);
    const re = new RegExp(`^/${segments.map((s) => (s === "*" ? ".*" : s.startsWith(":") ? "[^/]+" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("/")}/?$`);
    const score = segments.reduce((n, s) => n + (s === "*" ? 1 : s.startsWith(":") ? 3 : 10), 0);
    patterns.push({ pattern: `/${segments.join("/")}`, re, score });
  }
  patterns.sort((a, b) => b.score - a.score);
  return (pathname) => {
    if (HOT_PATHS.has(pathname) || pathname === "/metrics") return pathname;
    if (pathname.startsWith("/build/")) return "/build/*";
    for (const p of patterns) if (p.re.test(pathname)) return p.pattern;
    return "unmatched";
  };
}

function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const end = url.indexOf("?", start);
  return start < 0 ? "/" : url.slice(start, end < 0 ? undefined : end);
}

/** Wraps Bun.serve's fetch with the observations above. */
export function observeHttp(handler: Handler, routeOf: (pathname: string) => string): Handler {
  const sentry = Boolean(config.SENTRY_DSN);
  const sample = config.ACCESS_LOG_SAMPLE;
  return async (request) => {
    const path = pathOf(request.url);
    // A hot path's label is the path itself, or for one with a parameter its route's pattern.
    const hotRoute = HOT_PATHS.has(path) ? path : hotParamPatternOf(path);
    const hot = hotRoute !== undefined;
    const logged = !hot || (sample > 0 && Math.random() < sample);
    if (hot && !metricsEnabled && !logged && !sentry) return handler(request);
    const route = hotRoute ?? routeOf(path);
    const start = performance.now();
    let status = 500;
    try {
      const response = await (sentry ? withSentryRequest(request, route, () => handler(request)) : handler(request));
      status = response.status;
      if (logged) accessLog(request, response, route, path, start);
      return response;
    } finally {
      const seconds = (performance.now() - start) / 1000;
      if (metricsEnabled) {
        observeRequest(route, request.method, status, seconds);
        if (path === QUOTA_PATH) observeSlo("quota_latency", seconds);
      }
    }
  };
}

function accessLog(request: Request, response: Response, route: string, path: string, start: number): void {
  log.info(
    {
      method: request.method,
      route,
      path,
      status: response.status,
      duration_ms: Math.round((performance.now() - start) * 100) / 100,
      request_id: response.headers.get("x-request-id") ?? undefined,
    },
    "request",
  );
}
