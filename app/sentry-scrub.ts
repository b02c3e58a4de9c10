// The second line of defence for Sentry (server and browser): whatever an integration attached,
// an event or transaction leaves with no cookies, headers, query strings, bodies, user fields,
// emails or keys. The first line is the SDK's own options (sendDefaultPii off, dataCollection off).
import { scrub } from "./redact";

type Request = { url?: string; cookies?: unknown; headers?: unknown; query_string?: unknown; data?: unknown; env?: unknown };
type Crumb = { message?: string; data?: Record<string, unknown> };
type Span = { description?: string; data?: Record<string, unknown> };
type Scrubbable = {
  request?: Request;
  user?: unknown;
  message?: string;
  transaction?: string;
  exception?: { values?: { value?: string; stacktrace?: { frames?: { vars?: unknown }[] } }[] };
  breadcrumbs?: Crumb[];
  extra?: Record<string, unknown>;
  tags?: Record<string, unknown>;
  contexts?: Record<string, unknown>;
  spans?: Span[];
};

const DEEP = 30;
const withoutQuery = (url: string) => url.replace(/[?#].*$/, "");
const clean = (text: string) => scrub(withoutQuery(text)) as string;

export function scrubSentryEvent<E>(event: E): E {
  const e = event as Scrubbable;
  if (e.request) e.request = e.request.url ? { url: clean(e.request.url) } : {};
  delete e.user;
  if (e.message) e.message = scrub(e.message) as string;
  if (e.transaction) e.transaction = clean(e.transaction);
  for (const v of e.exception?.values ?? []) {
    if (v.value) v.value = scrub(v.value) as string;
    for (const f of v.stacktrace?.frames ?? []) delete f.vars;
  }
  e.breadcrumbs = e.breadcrumbs?.map((b) => ({
    ...b,
    message: b.message && (scrub(b.message) as string),
    data: b.data && (scrubUrls(scrub(b.data, 0, DEEP)) as Record<string, unknown>),
  }));
  if (e.extra) e.extra = scrub(e.extra, 0, DEEP) as Record<string, unknown>;
  if (e.tags) e.tags = scrub(e.tags, 0, DEEP) as Record<string, unknown>;
  if (e.contexts) {
    const { trace, ...rest } = e.contexts;
    e.contexts = { ...(scrub(rest, 0, DEEP) as Record<string, unknown>), ...(trace ? { trace: scrubTrace(trace) } : {}) };
  }
  for (const s of e.spans ?? []) {
    if (s.description) s.description = clean(s.description);
    if (s.data) s.data = scrubUrls(scrub(s.data, 0, DEEP)) as Record<string, unknown>;
  }
  return event;
}

/** The trace context keeps its ids (they are not secrets) but loses request data. */
function scrubTrace(trace: unknown): unknown {
  const t = trace as { data?: Record<string, unknown> };
  return t.data ? { ...t, data: scrubUrls(scrub(t.data, 0, DEEP)) } : t;
}

/** URL-ish attributes lose their query; header and query attributes are dropped. */
function scrubUrls(data: unknown): unknown {
  if (!data || typeof data !== "object") return data;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (/header|cookie|query|body/i.test(k)) continue;
    out[k] = typeof v === "string" && /url|target|route|path/i.test(k) ? withoutQuery(v) : v;
  }
  return out;
}
