// Network faults between the client and the real app, for the client's tests: a TCP proxy that
// forwards requests but drops answers, and an HTTP front that answers 503 instead of the app.
import { connect, createServer, type Server, type Socket } from "node:net";

export type LossyProxy = { url: string; connections: number; close: () => Promise<void> };

/** Forwards every connection to `target`; the first `dropAnswers` get the request through, then lose the answer. */
export async function lossyProxy(target: string, dropAnswers: number): Promise<LossyProxy> {
  const { hostname, port } = new URL(target);
  let dropsLeft = dropAnswers;
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const server: Server = createServer((client) => {
    state.connections++;
    const upstream = connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    if (dropsLeft > 0) {
      dropsLeft--;
      // The app has answered, so it has committed: the client never sees it.
      upstream.once("data", () => {
        client.destroy();
        upstream.destroy();
      });
    } else upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    get connections() {
      return state.connections;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FlakyFront = { url: string; seen: { at: number; body: string }[]; stop: () => void };

/**
 * An HTTP front of `target`: the first `failures` requests are passed to the app (when
 * `forward`), and the client gets a 503 with `retryAfter` instead of the app's answer.
 */
export function flakyFront(target: string, opts: { failures: number; forward: boolean; retryAfter?: string }): FlakyFront {
  let failuresLeft = opts.failures;
  const seen: { at: number; body: string }[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const url = new URL(request.url);
      const body = request.method === "GET" ? "" : await request.text();
      seen.push({ at: Date.now(), body });
      const forward = () => fetch(`${target}${url.pathname}${url.search}`, { method: request.method, headers: request.headers, body: body || undefined });
      if (failuresLeft > 0) {
        failuresLeft--;
        if (opts.forward) await (await forward()).arrayBuffer();
        // As the app answers: every answer carries its request and correlation ids.
        const id = crypto.randomUUID();
        const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8", "x-request-id": id, "x-corr-id": id };
        if (opts.retryAfter !== undefined) headers["retry-after"] = opts.retryAfter;
        const envelope = { ok: false, error: { code: "SERVICE_UNAVAILABLE", message: "briefly unavailable", details: {} } };
        return new Response(JSON.stringify(envelope), { status: 503, headers });
      }
      return forward();
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, seen, stop: () => server.stop(true) };
}
