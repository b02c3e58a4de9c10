// A local Sentry: takes envelopes at POST /api/<project>/envelope/ on a random port, keeps their
// raw text (to check what must never leave) and the events and transactions they carry.
import { gunzipSync } from "node:zlib";

export type SentryItem = { type: string; payload: Record<string, unknown> & { event_id?: string; tags?: Record<string, string> } };
export type SentryReceiver = { dsn: string; raw: string[]; items: SentryItem[]; events: () => SentryItem["payload"][]; stop: () => void };

export function startSentryReceiver(): SentryReceiver {
  const raw: string[] = [];
  const items: SentryItem[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const { pathname } = new URL(request.url);
      if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
      if (request.method !== "POST" || !/^\/api\/\d+\/envelope\/$/.test(pathname)) return new Response("not found", { status: 404 });
      const bytes = new Uint8Array(await request.arrayBuffer());
      const text = new TextDecoder().decode(request.headers.get("content-encoding") === "gzip" ? gunzipSync(bytes) : bytes);
      raw.push(text);
      const lines = text.split("\n").filter(Boolean);
      // Line 0 is the envelope header; then pairs of item header and item payload.
      for (let i = 1; i + 1 < lines.length; i += 2) {
        const header = JSON.parse(lines[i]) as { type: string };
        try {
          items.push({ type: header.type, payload: JSON.parse(lines[i + 1]) });
        } catch {
          items.push({ type: header.type, payload: {} });
        }
      }
      return new Response("{}", { headers: { "content-type": "application/json", ...cors } });
    },
  });
  return {
    dsn: `http://publickey@127.0.0.1:${server.port}/1`,
    raw,
    items,
    events: () => items.filter((i) => i.type === "event").map((i) => i.payload),
    stop: () => void server.stop(true),
  };
}

const cors = { "access-control-allow-origin": "*", "access-control-allow-headers": "*" };
