// The local Stigg: a GraphQL-over-HTTP server answering the operations this system sends to
// Stigg (the server SDK's and the app's management documents), so the real SDK runs against it.
// State lives in its own Postgres schema and survives restarts. Every request needs the
// `x-api-key` it was started with; every document is parsed and compared with the pinned one
// (documents.ts). Test switches make it fail the ways the SDK's retry rules tell apart:
// 500 (not retried), 503 (retried, 5 attempts), a hang (until the SDK's timeout) and a refused
// connection (the listener closed; retried).
import type { Server } from "bun";
import type { OperationDefinitionNode } from "graphql";
import { LOCAL_STIGG_API_KEY } from "../app/server/platform/local-stigg";
import { checkDocument, project } from "./documents";
import { RESOLVERS, StiggGraphqlError } from "./resolvers";
import { StiggStore } from "./store";

export type StiggFault = "500" | "503" | "hang" | "refused";
export type StiggFaultOptions = { operation?: string; times?: number };
export type StiggFaultSwitch = { readonly hits: number; clear(): void };

export type StiggLocalOptions = {
  port: number;
  hostname?: string;
  databaseUrl: string;
  schema?: string;
  apiKey?: string;
  log?: (line: string) => void;
};

type Fault = { fault: StiggFault; options: StiggFaultOptions; hits: number; cleared: boolean; release: () => void; released: Promise<void> };

const traceId = () => crypto.randomUUID();

/** An error answer in Stigg's shape: `errors[]` with `extensions.code`, `data: null`. */
function errorAnswer(status: number, code: string, message: string, isValidationError = false, path?: string[]) {
  return Response.json(
    { errors: [{ message, ...(path ? { path } : {}), extensions: { code, isValidationError, traceId: traceId() } }], data: null },
    { status, headers: { "x-stigg-local": "1" } },
  );
}

export async function startStiggLocal(opts: StiggLocalOptions) {
  const log = opts.log ?? (() => {});
  const apiKey = opts.apiKey ?? LOCAL_STIGG_API_KEY;
  const instanceId = `stigg_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const store = new StiggStore(opts.databaseUrl, opts.schema ?? "stigg_local");
  await store.init();
  const faults: Fault[] = [];
  const operations: string[] = [];

  function matching(name: string | null): Fault | undefined {
    const f = faults.find(
      (x) => !x.cleared && (!x.options.operation || x.options.operation === name) && (x.options.times === undefined || x.hits < x.options.times),
    );
    if (f) f.hits++;
    return f;
  }

  async function graphql(request: Request): Promise<Response> {
    if (request.headers.get("x-api-key") !== apiKey)
      return errorAnswer(401, "Unauthenticated", "Unauthorized: the x-api-key header is missing or not a key of this environment.");
    let body: { query?: unknown; operationName?: unknown; variables?: unknown };
    try {
      body = (await request.json()) as typeof body;
    } catch {
      return errorAnswer(400, "BAD_REQUEST", "POST body missing, invalid Content-Type, or JSON object has no keys.");
    }
    const name = typeof body.operationName === "string" ? body.operationName : null;
    const fault = matching(name);
    if (fault?.fault === "hang") {
      await fault.released;
    } else if (fault?.fault === "500") {
      return errorAnswer(500, "INTERNAL_SERVER_ERROR", "Internal server error");
    } else if (fault?.fault === "503") {
      return new Response("Service Unavailable", { status: 503, headers: { "content-type": "text/plain", "retry-after": "1" } });
    }
    const checked = checkDocument(body.query, body.operationName);
    if ("refused" in checked) return errorAnswer(400, checked.code, checked.refused, true);
    operations.push(checked.name);
    const variables = (body.variables && typeof body.variables === "object" ? body.variables : {}) as Record<string, unknown>;
    try {
      const data = await RESOLVERS[checked.name](store, variables);
      return Response.json({ data: project(data, (checked.operation as OperationDefinitionNode).selectionSet, checked.document) });
    } catch (err) {
      if (err instanceof StiggGraphqlError) {
        const field = checked.operation.selectionSet.selections[0];
        const path = field?.kind === "Field" ? [field.alias?.value ?? field.name.value] : undefined;
        return errorAnswer(err.isValidationError ? 400 : 200, err.code, err.message, err.isValidationError, path);
      }
      log(`local Stigg: ${checked.name} failed: ${(err as Error).message}`);
      return errorAnswer(500, "INTERNAL_SERVER_ERROR", "Internal server error");
    }
  }

  const serve = (port: number): Server<undefined> =>
    Bun.serve({
      port,
      hostname: opts.hostname ?? "127.0.0.1",
      idleTimeout: 0,
      fetch: async (request) => {
        const url = new URL(request.url);
        if (url.pathname === "/health" && request.method === "GET") return Response.json({ ok: true, instanceId });
        if (url.pathname === "/graphql" && request.method === "POST") return graphql(request);
        return errorAnswer(404, "NOT_FOUND", `No route ${request.method} ${url.pathname}: the local Stigg answers POST /graphql.`);
      },
    });

  let server: Server<undefined> | null = serve(opts.port);
  const port = server.port as number;
  const url = `http://${opts.hostname ?? "127.0.0.1"}:${port}`;
  log(`local Stigg listening on ${url} (instance ${instanceId})`);

  return {
    url,
    port,
    instanceId,
    apiKey,
    store,
    /** Operation names answered so far (tests check which calls happened). */
    operations,
    /** Turns a fault on for every request (or one operation's) until cleared or `times` are used. */
    fault(fault: StiggFault, options: StiggFaultOptions = {}): StiggFaultSwitch {
      if (fault === "refused") {
        server?.stop(true);
        server = null;
        let cleared = false;
        return {
          hits: 0,
          clear() {
            if (cleared) return;
            cleared = true;
            server = serve(port);
          },
        };
      }
      let release = () => {};
      const released = new Promise<void>((r) => {
        release = r;
      });
      const entry: Fault = { fault, options, hits: 0, cleared: false, release, released };
      faults.push(entry);
      return {
        get hits() {
          return entry.hits;
        },
        clear() {
          entry.cleared = true;
          entry.release();
        },
      };
    },
    async stop() {
      for (const f of faults) f.release();
      server?.stop(true);
      server = null;
      await store.close();
    },
  };
}

export type StiggLocal = Awaited<ReturnType<typeof startStiggLocal>>;
