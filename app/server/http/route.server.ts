// How an /api route declares itself: the methods it serves and, per method, who may call it, the
// query or JSON body it takes, what it answers and, for the documented ones, the contract. The
// declaration makes the route's Remix `loader` and `action`: an undeclared method is 405
// METHOD_NOT_ALLOWED with Allow, the caller is authenticated and the input parsed before the
// handler runs, the handler gets the route's params, the parsed input and the caller, and every
// error becomes an envelope (envelope.server.ts). The OpenAPI document (openapi/document.server.ts) and
// docs/api.md are made from the same declarations.
import type { z } from "zod";
import type { BodySpec, DataSpec, OperationDoc } from "../api/contract.server";
import { requireAdmin } from "../auth/admin.server";
import { authenticateKey, type KeyPrincipal } from "../auth/keys.server";
import { requireSession, type Session } from "../auth/session.server";
import { databaseBreaker } from "../platform/db.server";
import { AppError, NotFound, parseWith, ServiceUnavailable } from "../platform/errors.server";
import { inRequest } from "../platform/request-context.server";
import { type ApiContext, contextOf, envelopeOf, errorResponse, readJson } from "./envelope.server";

export type Params = Readonly<Record<string, string | undefined>>;
export type RouteArgs = { request: Request; params: Params; context?: unknown };
export type Serve = (args: RouteArgs) => Promise<Response>;

// In this order in Allow.
export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type Method = (typeof METHODS)[number];

/** Marks a declared route (what apiRoute returns). */
export const BRAND = Symbol("apiRoute");

/** A declared route: what its module exports as `route`, and its Remix loader and action. */
export type ApiRoute = { readonly methods: readonly Method[]; readonly loader: Serve; readonly action: Serve };

export function isApiRoute(value: unknown): value is ApiRoute {
  return typeof value === "object" && value !== null && BRAND in value && value[BRAND] === true;
}

/** The server's hot paths (the quota read, the usage write, the entitlements read) and the route ids serving them. */
export const HOT_ROUTES: Record<string, string> = {
  "/api/v1/quota": "routes/api.v1.quota",
  "/api/v1/usage": "routes/api.v1.usage",
  "/api/v1/entitlements": "routes/api.v1.entitlements",
};

/**
 * The server's hot paths with one path parameter: the path's prefix, the parameter's name, its
 * label in the metrics (the Remix route's pattern) and the route id serving it.
 */
export const HOT_PARAM_ROUTES: readonly { prefix: string; param: string; pattern: string; id: string }[] = [
  { prefix: "/api/v1/entitlements/", param: "feature", pattern: "/api/v1/entitlements/:feature", id: "routes/api.v1.entitlements.$feature" },
];

// What a hot parameter may be to be served directly: a plain resource id, which the router would
// hand over unchanged. Anything else (an escape, a trailing slash, another segment) goes to the
// router, which answers it as it always has.
const PLAIN_SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;

/** The value of a hot route's parameter in a path under its prefix, when the router is not needed to read it. */
export function hotParamOf(pathname: string, prefix: string): string | undefined {
  if (!pathname.startsWith(prefix)) return undefined;
  const value = pathname.slice(prefix.length);
  return PLAIN_SEGMENT.test(value) ? value : undefined;
}

/** The metrics label of a path a hot parameterised route serves directly (its pattern), or undefined. */
export function hotParamPatternOf(pathname: string): string | undefined {
  for (const hot of HOT_PARAM_ROUTES) if (hotParamOf(pathname, hot.prefix) !== undefined) return hot.pattern;
  return undefined;
}

/**
 * The declared routes behind the server's hot paths, from the build: each path's route module
 * must export its declaration as `route`. Throws naming every one that does not (a renamed or
 * rewritten route must stop the server at start, not fall back to the router unnoticed).
 */
export function hotRoutesOf(routes: Record<string, { module: object } | undefined>, table: Record<string, string>): Map<string, ApiRoute> {
  const hot = new Map<string, ApiRoute>();
  const wrong: string[] = [];
  for (const [path, id] of Object.entries(table)) {
    const module = routes[id]?.module;
    const route = module && "route" in module ? module.route : undefined;
    if (isApiRoute(route)) hot.set(path, route);
    else wrong.push(`${path} (${id}): ${module ? "exports no route declared with apiRoute" : "no such route"}`);
  }
  if (wrong.length > 0) throw new Error(`hot routes missing: ${wrong.join("; ")}`);
  return hot;
}

/**
 * Who may call a method: `none` anyone (public, or a webhook that checks its own signature),
 * `key` an API key (Authorization: Bearer), `session` a signed-in member of an org (with
 * `role: "admin"`, the org's admins only), `key_or_session` either (an Authorization header
 * means a key: a bad key is refused, never retried as a session), `admin` a platform admin.
 */
export type Auth = "none" | "key" | "session" | "key_or_session" | "admin";
export type Caller<A extends Auth> = A extends "none" ? null : A extends "key" ? KeyPrincipal : A extends "key_or_session" ? KeyPrincipal | Session : Session;

/** One method of a route, as declared. */
export type MethodSpec = {
  auth: Auth;
  /** For `session`: the org's admins only. */
  role?: "admin";
  /** False for what must answer while the database breaker is open; otherwise it answers 503 at once. */
  needsDatabase?: boolean;
  /** Told the seconds from before authentication to the answer, on success (a latency metric). */
  observe?: (seconds: number) => void;
  /**
   * For a route on one resource (`$id`): checks, after authentication and before the input is
   * read, that the caller's org owns it (throws NOT_FOUND), so another org's id is 404 whatever
   * the body.
   */
  resource?: (params: Params, caller: never) => Promise<void>;
  /** The query string's parameters, parsed after authentication: the handler's `query`. */
  query?: z.ZodObject;
  /** A JSON body (`jsonBody`), read and parsed after authentication: the handler's `body`. */
  body?: BodySpec;
  /** The success envelope's `data` (`answer`); null: the answer is not enveloped. */
  data?: DataSpec | null;
  /** Its entry in the OpenAPI document; without it the method is served but not documented. */
  doc?: OperationDoc;
  handle: (args: never, ctx: ApiContext, caller: never) => Promise<Response>;
};

type AuthOf<T> = T extends { auth: infer A extends Auth } ? A : never;
/** What a handler gets: the route's args, and the parsed `query` and `body` its method declares. */
export type HandlerArgs<T> = RouteArgs &
  (T extends { query: infer Q extends z.ZodType } ? { query: z.output<Q> } : unknown) &
  (T extends { body: BodySpec<infer B> } ? { body: z.output<B> } : unknown);
type Handler<T> = (args: HandlerArgs<T>, ctx: ApiContext, caller: Caller<AuthOf<T>>) => Promise<Response>;
type Declared<T> = {
  [K in keyof T]: K extends "handle"
    ? Handler<T>
    : K extends "resource"
      ? (params: Params, caller: Caller<AuthOf<T>>) => Promise<void>
      : K extends "role"
        ? AuthOf<T> extends "session"
          ? "admin"
          : never
        : K extends keyof MethodSpec
          ? T[K]
          : never;
};
type Shape = Omit<MethodSpec, "handle" | "resource"> & { handle: unknown; resource?: unknown };

/** Per method its spec; `"*"` serves every method not declared (the catch-all 404). */
export type Declaration<S> = { [M in keyof S]: Declared<S[M]> };

/** A declared route: its loader and action, and each method's spec (the OpenAPI document reads them). */
export type DeclaredRoute = ApiRoute & { readonly specs: Readonly<{ [M in Method | "*"]?: MethodSpec }> };

/**
 * Declares an /api route. GET also serves HEAD (Remix sends both to the loader); every other
 * method reaches the action, which picks the declared one or answers 405.
 */
export function apiRoute<const S extends { [M in Method | "*"]?: Shape }>(declared: Declaration<S>): DeclaredRoute {
  const specs = Object.freeze({ ...(declared as { [M in Method | "*"]?: MethodSpec }) });
  const methods = METHODS.filter((m) => specs[m]);
  if (methods.length === 0 && !specs["*"]) throw new Error("apiRoute: declare at least one method");
  for (const m of methods) checkDocumented(m, specs[m]!);
  // HEAD is served wherever GET is, so Allow names it too.
  const allow = methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ");
  const fallback = specs["*"] ? serving(specs["*"]) : notAllowed(methods.join(", "), allow);
  const byMethod = new Map<string, Serve>();
  for (const m of methods) if (m !== "GET") byMethod.set(m, serving(specs[m]!));
  const action: Serve = (args) => (byMethod.get(args.request.method) ?? fallback)(args);
  // Remix sends OPTIONS (and any method it does not count as a mutation) to the loader too.
  const get = specs.GET ? serving(specs.GET) : fallback;
  const loader: Serve = (args) => (args.request.method === "GET" || args.request.method === "HEAD" ? get(args) : action(args));
  return Object.freeze({ [BRAND]: true, methods, loader, action, specs });
}

/** A documented method names its body and answer, with examples for the body: refused when declared otherwise. */
function checkDocumented(method: Method, spec: MethodSpec): void {
  if (!spec.doc) return;
  const missing = [
    spec.data === undefined ? "data (an answer, or null when not enveloped)" : null,
    spec.body && (spec.body.name === undefined || spec.body.example === undefined) ? "a body name and example" : null,
  ].filter(Boolean);
  if (missing.length > 0) throw new Error(`apiRoute: ${method} ${spec.doc.operationId} is documented without ${missing.join(" and ")}`);
}

const notAllowed =
  (use: string, allow: string): Serve =>
  async ({ request }) =>
    envelopeOf(contextOf(request), new AppError("METHOD_NOT_ALLOWED", `Use ${use} on this route.`, {}, { Allow: allow }));

/**
 * One declared method: ids, the breaker's 503 (not logged per request: the breaker logs its
 * opening and closing), then, inside the request's context, authentication, the input and the
 * handler. Built once per route, so a request costs what a hand-written handler would.
 */
function serving(spec: MethodSpec): Serve {
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
/** The args once the input is parsed: set on the args object itself, which each request has its own of. */
type Parsed = RouteArgs & { query?: unknown; body?: unknown };
type AnyHandler = (args: RouteArgs, ctx: ApiContext, caller: KeyPrincipal | Session | null) => Promise<Response>;

function runner(spec: MethodSpec): Run {
  const handle = spec.handle as AnyHandler;
  const { observe } = spec;
  const query = spec.query ?? null;
  const body = spec.body?.schema ?? null;
  const authenticate = authenticator(spec);
  const resource = (spec.resource as ((params: Params, caller: KeyPrincipal | Session) => Promise<void>) | undefined) ?? null;
  if (!authenticate)
    return async (args, ctx) => {
      try {
        if (query !== null) (args as Parsed).query = parseWith(query, queryOf(args.request.url));
        if (body !== null) (args as Parsed).body = parseWith(body, await readJson(args.request));
        return await handle(args, ctx, null);
      } catch (err) {
        return errorResponse(ctx, err);
      }
    };
  return async (args, ctx) => {
    try {
      const started = observe ? performance.now() : 0;
      const caller = await authenticate(args.request);
      ctx.orgId = caller.orgId;
      if (resource !== null) await resource(args.params, caller);
      if (query !== null) (args as Parsed).query = parseWith(query, queryOf(args.request.url));
      if (body !== null) (args as Parsed).body = parseWith(body, await readJson(args.request));
      const response = await handle(args, ctx, caller);
      if (observe) observe((performance.now() - started) / 1000);
      return response;
    } catch (err) {
      return errorResponse(ctx, err);
    }
  };
}

const NO_QUERY: Readonly<Record<string, string>> = Object.freeze({});

/** The query string's parameters (the last of a repeated one), as `new URL(url).searchParams` gives them. */
function queryOf(url: string): Record<string, string> {
  const start = url.indexOf("?");
  if (start < 0) return NO_QUERY;
  const end = url.indexOf("#", start);
  return Object.fromEntries(new URLSearchParams(url.slice(start + 1, end < 0 ? undefined : end)));
}

function authenticator(spec: MethodSpec): ((request: Request) => Promise<KeyPrincipal | Session>) | null {
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
    case "key_or_session":
      return (request) => {
        const authorization = request.headers.get("authorization");
        return authorization === null ? requireSession(request) : authenticateKey(authorization);
      };
  }
}

const RESOURCE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** A path parameter naming a resource: ids are plain characters, so anything else names nothing and is NOT_FOUND. */
export function resourceId(value: string | undefined, what: string): string {
  if (value === undefined || !RESOURCE_ID.test(value)) throw NotFound(what);
  return value;
}
