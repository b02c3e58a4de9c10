// The one same-origin rule (CSRF), used by the session routes, the portal actions and the
// server's pre-check of page posts alike.
import { config } from "../platform/config.server";
import { Forbidden } from "../platform/errors.server";

/**
 * A cookie-authenticated mutation (any method but GET and HEAD) must name where it comes from,
 * by its Origin header, else by its Referer's origin, and that must be this site: the request's
 * own origin or APP_BASE_URL's (behind a proxy the two differ). Every current browser sends
 * Origin on a cross-site POST and on a same-origin one (fetch and forms alike), so a mutation
 * naming no origin did not come from our pages and is refused; so is a Referer that is not a URL.
 * In production the request's own origin does not count (`trustHost`, below): only APP_BASE_URL's.
 * Key- and signature-authenticated routes carry no cookie and do not use this rule.
 */
export function isSameOrigin(request: Request, trustHost = TRUST_HOST): boolean {
  if (request.method === "GET" || request.method === "HEAD") return true;
  const referer = request.headers.get("referer");
  const origin = request.headers.get("origin") ?? (referer !== null && URL.canParse(referer) ? new URL(referer).origin : null);
  if (origin === null) return false;
  return origin === baseOrigin || (trustHost && origin === new URL(request.url).origin);
}

const baseOrigin = new URL(config.baseUrl).origin;
// The request's own origin is built from its Host header, which whoever sends the request chooses
// (a DNS-rebinding page, a proxy passing any Host): in production only APP_BASE_URL's origin
// counts. In development and tests the app is reached by whatever address it listens on.
const TRUST_HOST = config.NODE_ENV !== "production";

export const crossSiteRefused = () => Forbidden("Cross-site request refused.");

/** Throws FORBIDDEN for a mutation that fails the same-origin rule. */
export function checkSameOrigin(request: Request): void {
  if (!isSameOrigin(request)) throw crossSiteRefused();
}
