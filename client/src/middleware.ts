// Metering in front of a handler: one record per request before the handler runs. Over the
// quota the caller gets the API's 429 envelope with Retry-After; the handler does not run.
import type { RecordResult } from "./types.js";

export type FetchHandler<Req extends Request = Request> = (request: Req, ...rest: any[]) => Response | Promise<Response>;

/** What Express and Connect hand a middleware (typed by shape: no dependency on them). */
export type NodeLikeRequest = { headers: Record<string, string | string[] | undefined> };
export type NodeLikeResponse = { statusCode: number; setHeader(name: string, value: string): unknown; end(body?: string): unknown };
export type ExpressMiddleware<Req extends NodeLikeRequest = NodeLikeRequest> = (req: Req, res: NodeLikeResponse, next: (err?: unknown) => void) => void;

export type MeterOptions<Req> = {
  /** Requests that are not metered (health checks, CORS preflights); default none. */
  skip?: (request: Req) => boolean;
  /** Units per request; default 1. */
  quantity?: number | ((request: Req) => number);
  /** Default "api_call". */
  metric?: string;
  /**
   * Where the request_id comes from, so that a caller's own retry of a request is counted once:
   * header names (the first valid one wins, e.g. `["idempotency-key", "x-request-id"]`) or a
   * function. Default: a fresh id per request. A caller who controls the header can make every
   * request a replay of one id, so scope it to an authenticated caller (the function form:
   * `(req) => \`${userId}:${req.headers.get("idempotency-key")}\``) or leave it off.
   */
  requestId?: string[] | ((request: Req) => string | null | undefined);
};

type Recorder = { record(input: { requestId?: string; quantity?: number; metric?: string }): Promise<RecordResult> };
type Denial = { status: number; headers: Record<string, string>; body: string };

const ID_SHAPE = /^[A-Za-z0-9._:-]{1,128}$/;
const JSON_TYPE = "application/json; charset=utf-8";

function requestIdOf<Req>(request: Req, header: (name: string) => string | null, from: MeterOptions<Req>["requestId"]): string | undefined {
  if (!from) return undefined;
  const candidates = typeof from === "function" ? [from(request)] : from.map(header);
  return candidates.find((id): id is string => typeof id === "string" && ID_SHAPE.test(id));
}

/** Records the request; a denial to send instead of running the handler, or null to go on. */
async function meter<Req>(recorder: Recorder, options: MeterOptions<Req>, request: Req, header: (name: string) => string | null): Promise<Denial | null> {
  if (options.skip?.(request)) return null;
  const quantity = typeof options.quantity === "function" ? options.quantity(request) : options.quantity;
  const result = await recorder.record({ requestId: requestIdOf(request, header, options.requestId), quantity, metric: options.metric });
  if (result.admitted) return null;
  if (result.decidedBy === "platform" && result.reason === "spend_cap_reached") {
    return envelope(
      429,
      "SPEND_CAP_REACHED",
      "The spend cap of this period is reached.",
      { periodKey: result.periodKey, periodEnd: result.periodEnd },
      result.retryAfter,
    );
  }
  if (result.decidedBy === "platform") {
    return envelope(
      429,
      "QUOTA_EXCEEDED",
      "The quota of this period is used up.",
      { periodKey: result.periodKey, periodEnd: result.periodEnd },
      result.retryAfter,
    );
  }
  return envelope(503, "SERVICE_UNAVAILABLE", "Usage metering is unavailable; retry shortly.", {}, 1);
}

function envelope(status: number, code: string, message: string, details: Record<string, unknown>, retryAfter: number): Denial {
  return {
    status,
    headers: { "content-type": JSON_TYPE, "retry-after": String(retryAfter) },
    body: JSON.stringify({ ok: false, error: { code, message, details } }),
  };
}

/** Wraps a fetch-style handler. API errors that are not about the quota (a revoked key) are thrown. */
export function fetchMeter<Req extends Request>(recorder: Recorder, options: MeterOptions<Req>) {
  return (handler: FetchHandler<Req>): FetchHandler<Req> =>
    async (request, ...rest) => {
      const denial = await meter(recorder, options, request, (name) => request.headers.get(name));
      if (denial) return new Response(denial.body, { status: denial.status, headers: denial.headers });
      return handler(request, ...rest);
    };
}

/** Express/Connect: errors go to `next(err)`, the app's own error handler. */
export function expressMeter<Req extends NodeLikeRequest>(recorder: Recorder, options: MeterOptions<Req>): ExpressMiddleware<Req> {
  return (req, res, next) => {
    const header = (name: string) => {
      const value = req.headers[name.toLowerCase()];
      return (Array.isArray(value) ? value[0] : value) ?? null;
    };
    meter(recorder, options, req, header).then((denial) => {
      if (!denial) return next();
      res.statusCode = denial.status;
      for (const [name, value] of Object.entries(denial.headers)) res.setHeader(name, value);
      res.end(denial.body);
    }, next);
  };
}
