// The one browser module that talks to Sentry. The SDK is loaded only when the root loader
// gave a DSN; events pass the same scrubber as the server's (no query strings, headers, emails).
import { useEffect } from "react";
import { scrubSentryEvent } from "./sentry-scrub";

export type SentryBrowserConfig = { dsn: string; environment: string; release: string };

let sdk: Promise<typeof import("@sentry/remix")> | null = null;

export function initBrowserSentry(config: SentryBrowserConfig | null): void {
  if (!config || sdk || typeof window === "undefined") return;
  sdk = import("@sentry/remix").then((Sentry) => {
    Sentry.init({
      dsn: config.dsn,
      environment: config.environment,
      release: config.release,
      sendDefaultPii: false,
      tracesSampleRate: 0,
      beforeSend: (event) => scrubSentryEvent(event),
      beforeBreadcrumb: (crumb) => scrubSentryEvent({ breadcrumbs: [crumb] }).breadcrumbs?.[0] ?? null,
    });
    return Sentry;
  });
}

/** An error boundary's error, sent once: in an effect keyed on the error (a boundary can render twice). */
export function useReportBoundaryError(error: unknown): void {
  useEffect(() => {
    void sdk?.then((Sentry) => Sentry.captureRemixErrorBoundaryError(error));
  }, [error]);
}
