// Who is acting in the current request and which request it is, for the audit log: opened by
// the API boundary (http/route.server.ts) and portal actions, completed by the session helpers, read
// by appendAudit. Outside a request (worker, ops CLI) there is none, and the actor is `system`.
import { AsyncLocalStorage } from "node:async_hooks";

export type RequestContext = { requestId: string; corrId?: string; actor?: string; orgId?: string };

const store = new AsyncLocalStorage<RequestContext>();

export const inRequest = <T>(ctx: RequestContext, fn: () => T): T => store.run(ctx, fn);
export const currentRequest = (): RequestContext | undefined => store.getStore();

/** Records the signed-in person on the current request (called by the session helpers). */
export function noteActor(actor: string, orgId: string): void {
  const ctx = store.getStore();
  if (ctx) {
    ctx.actor = actor;
    ctx.orgId ??= orgId;
  }
}
