// One outbound POST to a checked delivery target: connects to the pinned address (the TLS name
// and Host header stay the URL's), 10 s in all, never follows a redirect, reads at most 64 KB.
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { DeliveryTarget } from "./url-safety.server";

const TIMEOUT_MS = 10_000;
const MAX_BODY = 64 * 1024;

export type PostResult = { status: number; body: string };

export function postPinned(target: DeliveryTarget, headers: Record<string, string>, payload: string): Promise<PostResult> {
  const pinned: LookupFunction = (_host, options, callback) => {
    const cb = callback as (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void;
    if ((options as { all?: boolean }).all) cb(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  };
  const client = target.url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(target.url, {
      method: "POST",
      lookup: pinned,
      headers: { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)), "user-agent": "Metered-Webhooks/1" },
      timeout: TIMEOUT_MS,
    });
    const deadline = setTimeout(() => req.destroy(new Error("timed out after 10 s")), TIMEOUT_MS);
    req.on("timeout", () => req.destroy(new Error("timed out after 10 s")));
    req.on("error", (err) => {
      clearTimeout(deadline);
      reject(err);
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      };
      res.on("data", (chunk: Buffer) => {
        if (size >= MAX_BODY) return;
        chunks.push(chunk.subarray(0, MAX_BODY - size));
        size += chunk.length;
        if (size >= MAX_BODY) {
          res.destroy();
          done();
        }
      });
      res.on("end", done);
      res.on("error", (err) => {
        clearTimeout(deadline);
        reject(err);
      });
    });
    req.end(payload);
  });
}
