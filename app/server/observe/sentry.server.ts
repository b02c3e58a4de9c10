// The one server module that talks to Sentry (@sentry/remix). Loaded only when SENTRY_DSN is
// set: without it nothing is imported or initialised and every function here is a no-op.

import { scrubSentryEvent } from "../../sentry-scrub";
import { config } from "../platform/config.server";
import { log } from "../platform/log.server";
import { currentRequest } from "../platform/request-context.server";

type SentrySdk = typeof import("@sentry/remix");
let initialised: SentrySdk | undefined;
const sdk = () => initialised;

export const sentryRelease = config.SENTRY_RELEASE;
export const sentryEnvironment = config.SENTRY_ENVIRONMENT ?? config.NODE_ENV;

/** Initialises Sentry for this process (app, worker or ops) when SENTRY_DSN is set. */
export async function initSentry(service: "app" | "worker" | "ops"): Promise<boolean> {
  if (!config.SENTRY_DSN || initialised) return Boolean(initialised);
  const Sentry = await import("@sentry/remix");
  Sentry.init({
    dsn: config.SENTRY_DSN,
    release: sentryRelease,
    environment: sentryEnvironment,
    serverName: service,
    tracesSampleRate: config.SENTRY_TRACES_SAMPLE_RATE,
    // sendDefaultPii: false alone still sends cookies, Authorization and query strings; the
    // dataCollection switches stop the SDK collecting them, and the scrubber removes any rest.
    sendDefaultPii: false,
    dataCollection: { userInfo: false, cookies: false, httpHeaders: false, urlQueryParams: false, httpBodies: [] },
    beforeSend: (event) => scrubSentryEvent(event),
    beforeSendTransaction: (event) => scrubSentryEvent(event),
    beforeBreadcrumb: (crumb) => scrubSentryEvent({ breadcrumbs: [crumb] }).breadcrumbs?.[0] ?? null,
    initialScope: { tags: { service } },
    // Only what reports errors and their context (Http also carries the async context that ties
    // an error to its request's trace): no local variables (they hold request data), and none of
    // the auto-instrumentations of libraries this system does not use (they made stray
    // transactions such as graphql.parseSchema).
    integrations: (defaults) => defaults.filter((i) => KEPT_INTEGRATIONS.has(i.name)),
  });
  initialised = Sentry;
  return true;
}

const KEPT_INTEGRATIONS = new Set([
  "InboundFilters",
  "FunctionToString",
  "LinkedErrors",
  "RequestData",
  "NodeSystemError",
  "Console",
  "OnUncaughtException",
  "OnUnhandledRejection",
  "ContextLines",
  "Context",
  "Remix",
  "Http",
]);

type Context = Record<string, string | number | boolean | null | undefined>;

/** Reports an unexpected error; returns the event id (undefined without Sentry). */
export function captureException(err: unknown, context: Context = {}): string | undefined {
  return sdk()?.captureException(err, { tags: tagsOf(context) });
}

/** Reports a message (an SLO breach, the ops test event); returns the event id. */
export function captureMessage(message: string, context: Context = {}, level: "error" | "warning" | "info" = "error"): string | undefined {
  return sdk()?.captureMessage(message, { level, tags: tagsOf(context) });
}

function tagsOf(context: Context): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(context)) if (v !== undefined && v !== null) tags[k] = String(v);
  return tags;
}

/**
 * Runs one Bun.serve request in its own Sentry scope carrying the request (as Sentry's own
 * request instrumentation does; the options and the scrubber decide what of it may leave), and,
 * when tracing, inside an http.server transaction named by its route pattern (Bun bypasses
 * node:http, so the SDK makes none by itself), continuing an incoming sentry-trace.
 */
export function withSentryRequest(request: Request, route: string, handle: () => Promise<Response>): Promise<Response> {
  const Sentry = sdk();
  if (!Sentry) return handle();
  return Sentry.withIsolationScope((scope) => {
    // Only what may leave: the options drop headers and query strings anyway, so they are not copied.
    scope.setSDKProcessingMetadata({ normalizedRequest: { url: request.url, method: request.method } });
    scope.setTransactionName(`${request.method} ${route}`);
    if (config.SENTRY_TRACES_SAMPLE_RATE === 0) return handle();
    const trace = { sentryTrace: request.headers.get("sentry-trace") ?? undefined, baggage: request.headers.get("baggage") ?? undefined };
    return Sentry.continueTrace(trace, () =>
      Sentry.startSpan(
        {
          op: "http.server",
          name: `${request.method} ${route}`,
          forceTransaction: true,
          attributes: { "http.request.method": request.method, "http.route": route },
        },
        async (span) => {
          const response = await handle();
          Sentry.setHttpStatus(span, response.status);
          return response;
        },
      ),
    );
  });
}

/** Waits (bounded) until queued events are sent: before a process exits. */
export async function flushSentry(timeoutMs = 2000): Promise<void> {
  await sdk()?.flush(timeoutMs);
}

/**
 * Remix's handleError (loaders, actions, rendering): an unexpected error is logged once and sent
 * to Sentry; an aborted request or an expected 4xx (a thrown Response, an AppError) is not.
 */
export function reportServerError(error: unknown, request: Request): void {
  if (request.signal.aborted) return;
  const status = (error as { status?: unknown })?.status;
  if (typeof status === "number" && status < 500) return;
  const path = new URL(request.url).pathname;
  // The ids the answer carries (server.ts opens the request's context for pages too).
  const ids = currentRequest();
  log.error({ err: error, method: request.method, path, corr_id: ids?.corrId, request_id: ids?.requestId }, "unexpected server error");
  captureException(error, { method: request.method, path, corr_id: ids?.corrId, request_id: ids?.requestId });
}

/** What the browser SDK needs (a DSN is public by design), or null without Sentry. */
export function sentryBrowserConfig(): { dsn: string; environment: string; release: string } | null {
  return config.SENTRY_DSN ? { dsn: config.SENTRY_DSN, environment: sentryEnvironment, release: sentryRelease } : null;
}
