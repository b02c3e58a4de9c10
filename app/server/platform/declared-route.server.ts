// What a declared /api route is (route.server.ts declares them) and the server's table of hot
// routes made from them. Nothing here loads auth or the database: server.ts imports it without
// loading a second copy of the app's session code.
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

/** The server's hot paths (the quota read and the usage write) and the route ids serving them. */
export const HOT_ROUTES: Record<string, string> = { "/api/v1/quota": "routes/api.v1.quota", "/api/v1/usage": "routes/api.v1.usage" };

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
