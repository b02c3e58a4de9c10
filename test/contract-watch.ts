// Every answer of the app's /api/v1 routes that any test sees is checked against the OpenAPI
// document (test/contract.ts): the test preload wraps the global fetch, and a file whose answers
// break the contract fails at its end. Wrong methods and unknown paths are not operations of the
// document and pass unchecked (the route walks judge those).
import { afterAll, expect } from "bun:test";

const violations: string[] = [];
let checked = 0;
const plainFetch = globalThis.fetch;

async function watched(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const response = await plainFetch(input, init);
  const request = input instanceof Request ? input : null;
  const url = new URL(request ? request.url : String(input));
  if ((url.hostname === "127.0.0.1" || url.hostname === "localhost") && url.pathname.startsWith("/api/v1/")) {
    const { violationsOf } = await import("./contract"); // loaded only by files that call the API
    const method = (init?.method ?? request?.method ?? "GET").toUpperCase();
    const found = await violationsOf(method, url.pathname, response);
    if (found !== null) {
      checked++;
      violations.push(...found);
    }
  }
  return response;
}

export function watchContract(): void {
  globalThis.fetch = Object.assign(watched, { preconnect: plainFetch.preconnect }) as typeof fetch;
  afterAll(() => {
    if (checked > 0) expect(violations).toEqual([]);
  });
}
