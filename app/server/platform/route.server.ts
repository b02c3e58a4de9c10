// How an /api route declares itself: the methods it serves and, per method, who may call it. The
// declaration makes the route's Remix `loader` and `action`: an undeclared method is 405
// METHOD_NOT_ALLOWED with Allow, the caller is authenticated before the handler runs, the handler
// gets the route's params and the caller, and every error becomes an envelope (http.server.ts).
import { requireAdmin } from "../auth/admin.server";
import { authenticateKey, type KeyPrincipal } from "../auth/keys.server";
import { requireSession, type Session } from "../auth/session.server";
import { databaseBreaker } from "./db.server";
import { AppError, NotFound, ServiceUnavailable } from "./errors.server";
import { type ApiContext, contextOf, envelopeOf, errorResponse } from "./http.server";
import { type ApiRoute, BRAND, type Method, METHODS, type RouteArgs, type Serve } from "./declared-route.server";
import { inRequest } from "./request-context.server";

/**
 * Who may call a method: `none` anyone (public, or a webhook that checks its own signature),
 * `key` an API key (Authorization: Bearer), `session` a signed-in member of an org (with
 * `role: "admin"`, the org's admins only), `admin` a platform admin.
 */
export type Auth = "none" | "key" | "session" | "admin";
export type Caller<A extends Auth> = A extends "none" ? null : A extends "key" ? KeyPrincipal : Session;

export type MethodSpec<A extends Auth> = {
  auth: A;
  /** For `session`: the org's admins only. */
  role?: A extends "session" ? "admin" : never;
  /** False for what must answer while the database breaker is open; otherwise it answers 503 at once. */
  needsDatabase?: boolean;
  /** Told the seconds from before authentication to the answer, on success (a latency metric). */
  observe?: (seconds: number) => void;
  handle: (args: RouteArgs, ctx: ApiContext, caller: Caller<A>) => Promise<Response>;
};

/** Per method its spec; `"*"` serves every method not declared (the catch-all 404). */
export type Declaration<S> = { [M in keyof S]: M extends Method | "*" ? MethodSpec<S[M] extends Auth ? S[M] : never> : never };

/**
 * Declares an /api route. GET also serves HEAD (Remix sends both to the loader); every other
 * method reaches the action, which picks the declared one or answers 405.
 */
export function apiRoute<const S extends { [M in Method | "*"]?: Auth }>(declared: Declaration<S>): ApiRoute {
  const specs = declared as { [M in Method | "*"]?: MethodSpec<Auth> };
  const methods = METHODS.filter((m) => specs[m]);
  if (methods.length === 0 && !specs["*"]) throw new Error("apiRoute: declare at least one method");
  // HEAD is served wherever GET is, so Allow names it too.
  const allow = methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ");
  const fallback = specs["*"] ? serving(specs["*"]) : notAllowed(methods.join(", "), allow);
  const byMethod = new Map<string, Serve>();
  for (const m of methods) if (m !== "GET") byMethod.set(m, serving(specs[m]!));
  const action: Serve = (args) => (byMethod.get(args.request.method) ?? fallback)(args);
  // Remix sends OPTIONS (and any method it does not count as a mutation) to the loader too.
  const get = specs.GET ? serving(specs.GET) : fallback;
  const loader: Serve = (args) => (args.request.method === "GET" || args.request.method === "HEAD" ? get(args) : action(args));
  return Object.freeze({ [BRAND]: true, methods, loader, action });
}

const notAllowed =
  (use: string, allow: string): Serve =>
  async ({ request }) =>
    envelopeOf(contextOf(request), new AppError("METHOD_NOT_ALLOWED", `Use ${use} on this route.`, {}, { Allow: allow }));

/**
 * One declared method: ids, the breaker's 503 (not logged per request: the breaker logs its
 * opening and closing), then, inside the request's context, authentication and the handler.
 * Built once per route, so a request costs what a hand-written handler would.
 */
function serving(spec: MethodSpec<Auth>): Serve {
  const needsDatabase = spec.needsDatabase ?? true;
  const run = runner(spec);
  return (args) => {
    const ctx = contextOf(args.request);
    if (needsDatabase && databaseBreaker.isOpen()) {
      databaseBreaker.refused();
      return Promise.resolve(envelopeOf(ctx, new ServiceUnavailable()));
    }
    return inRequest(ctx, () => run(args, ctx));
  };
}

type Run = (args: RouteArgs, ctx: ApiContext) => Promise<Response>;

function runner(spec: MethodSpec<Auth>): Run {
  const { handle, observe } = spec;
  const authenticate = authenticator(spec);
  if (!authenticate)
    return async (args, ctx) => {
      try {
        return await handle(args, ctx, null as Caller<Auth>);
      } catch (err) {
        return errorResponse(ctx, err);
      }
    };
  return async (args, ctx) => {
    try {
      const started = observe ? performance.now() : 0;
      const caller = await authenticate(args.request);
      ctx.orgId = caller.orgId;
      const response = await handle(args, ctx, caller);
      if (observe) observe((performance.now() - started) / 1000);
      return response;
    } catch (err) {
      return errorResponse(ctx, err);
    }
  };
}

function authenticator(spec: MethodSpec<Auth>): ((request: Request) => Promise<KeyPrincipal | Session>) | null {
  switch (spec.auth) {
    case "none":
      return null;
    case "key":
      return (request) => authenticateKey(request.headers.get("authorization"));
    case "admin":
      return requireAdmin;
    case "session": {
      const need = { role: spec.role };
      return (request) => requireSession(request, need);
    }
  }
}

const RESOURCE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** A path parameter naming a resource: ids are plain characters, so anything else names nothing and is NOT_FOUND. */
export function resourceId(value: string | undefined, what: string): string {
  if (value === undefined || !RESOURCE_ID.test(value)) throw NotFound(what);
  return value;
}
