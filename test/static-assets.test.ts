// The built assets as server.ts serves them: compressed by what the browser accepts, cached
// for good when their name is hashed, and a favicon instead of a logged 404.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { startApp, type TestApp } from "./app";

let app: TestApp;
const root = join(import.meta.dir, "..");
const shared = join(root, "public/build/_shared");
// The largest shared chunk: a real script of the portal.
const chunk = readdirSync(shared)
  .filter((f) => f.endsWith(".js"))
  .sort((a, b) => Bun.file(join(shared, b)).size - Bun.file(join(shared, a)).size)[0]!;
const asset = `/build/_shared/${chunk}`;
const original = () => Bun.file(join(root, "public", asset)).bytes();

beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app.stop();
});

test("a script is sent brotli-compressed to a browser that accepts br, and decodes to the file", async () => {
  const r = await fetch(app.url + asset, { headers: { "accept-encoding": "gzip, deflate, br" }, decompress: false });
  expect(r.status).toBe(200);
  expect(r.headers.get("content-encoding")).toBe("br");
  expect(r.headers.get("vary")).toBe("Accept-Encoding");
  expect(r.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
  expect(r.headers.get("content-type")).toContain("javascript");
  const body = new Uint8Array(await r.arrayBuffer());
  const raw = await original();
  expect(body.length).toBeLessThan(raw.length / 2);
  expect(new Uint8Array(brotliDecompressSync(body))).toEqual(raw);
});

test("gzip when br is not accepted, the plain file when nothing is", async () => {
  const gz = await fetch(app.url + asset, { headers: { "accept-encoding": "gzip" }, decompress: false });
  expect(gz.headers.get("content-encoding")).toBe("gzip");
  expect(new Uint8Array(gunzipSync(new Uint8Array(await gz.arrayBuffer())))).toEqual(await original());
  const plain = await fetch(app.url + asset, { headers: { "accept-encoding": "identity" }, decompress: false });
  expect(plain.headers.get("content-encoding")).toBeNull();
  expect(new Uint8Array(await plain.arrayBuffer())).toEqual(await original());
  const refused = await fetch(app.url + asset, { headers: { "accept-encoding": "br;q=0, gzip" }, decompress: false });
  expect(refused.headers.get("content-encoding")).toBe("gzip");
});

test("the favicon is served (ICO and SVG), and nothing is logged for it", async () => {
  const before = app.logs.length;
  const ico = await fetch(`${app.url}/favicon.ico`);
  expect(ico.status).toBe(200);
  expect(ico.headers.get("content-type")).toContain("image/");
  const svg = await fetch(`${app.url}/favicon.svg`, { headers: { "accept-encoding": "br" }, decompress: false });
  expect(svg.status).toBe(200);
  expect(svg.headers.get("content-type")).toContain("image/svg+xml");
  expect(svg.headers.get("content-encoding")).toBe("br");
  await Bun.sleep(100);
  expect(app.logs.slice(before).filter((l) => /"level":(40|50)|error/i.test(l))).toEqual([]);
});
