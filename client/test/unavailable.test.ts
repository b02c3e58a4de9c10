// When the platform cannot be reached, `onUnavailable` decides, within the deadline, and the
// result says so. "deny" (the default) keeps the hard stop; "allow" keeps serving.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { startApp } from "../../test/app";
import { orgWithKey } from "../../test/factories";
import { Metered, MeteredUnavailableError } from "../src/index";

let stoppedUrl: string;
let key: string;
let blackHole: Server;
let blackHoleUrl: string;
const held = new Set<Socket>();

beforeAll(async () => {
  const org = await orgWithKey();
  key = org.key;
  const app = await startApp();
  stoppedUrl = app.url;
  await app.stop(); // the system is down: its port refuses connections
  // Accepts connections and never answers: every attempt ends in the client's timeout.
  blackHole = createServer((socket) => {
    held.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
  blackHoleUrl = `http://127.0.0.1:${(blackHole.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise<void>((resolve) => blackHole.close(() => resolve()));
});

describe("the system stopped", () => {
  test("by default record is denied by policy after its retries, and says so", async () => {
    const result = await new Metered({ apiKey: key, baseUrl: stoppedUrl, retries: 3, backoffMs: 10 }).record();
    expect(result).toMatchObject({ admitted: false, decidedBy: "policy", reason: "unavailable", policy: "deny", attempts: 4 });
    if (result.decidedBy !== "policy") throw new Error("not decided by policy");
    expect(result.cause).toStartWith("network error");
    expect(result.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("with onUnavailable: allow, record is admitted by policy", async () => {
    const result = await new Metered({ apiKey: key, baseUrl: stoppedUrl, retries: 1, backoffMs: 10, onUnavailable: "allow" }).record();
    expect(result).toMatchObject({ admitted: true, decidedBy: "policy", policy: "allow", attempts: 2 });
  });

  test("quota throws MeteredUnavailableError with the attempts made", async () => {
    const err = await new Metered({ apiKey: key, baseUrl: stoppedUrl, retries: 2, backoffMs: 10 }).quota().catch((e) => e);
    expect(err).toBeInstanceOf(MeteredUnavailableError);
    expect(err.attempts).toBe(3);
  });

  test("the middleware answers 503 with Retry-After under deny, and runs the handler under allow", async () => {
    let ran = 0;
    const handler = () => {
      ran++;
      return new Response("ok");
    };
    const deny = new Metered({ apiKey: key, baseUrl: stoppedUrl, retries: 0 }).middleware()(handler);
    const denied = await deny(new Request("http://app.local/x"));
    expect(denied.status).toBe(503);
    expect(denied.headers.get("retry-after")).toBe("1");
    expect(((await denied.json()) as any).error.code).toBe("SERVICE_UNAVAILABLE");
    expect(ran).toBe(0);
    const allow = new Metered({ apiKey: key, baseUrl: stoppedUrl, retries: 0, onUnavailable: "allow" }).middleware()(handler);
    expect((await allow(new Request("http://app.local/x"))).status).toBe(200);
    expect(ran).toBe(1);
  });
});

describe("a platform that does not answer", () => {
  test("each attempt times out after timeoutMs, and the policy decides", async () => {
    const started = Date.now();
    const result = await new Metered({ apiKey: key, baseUrl: blackHoleUrl, timeoutMs: 150, retries: 2, backoffMs: 10, deadlineMs: 5000 }).record();
    const took = Date.now() - started;
    expect(result).toMatchObject({ admitted: false, decidedBy: "policy", cause: "timeout", attempts: 3 });
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(1500);
  });

  test("the overall deadline bounds the call, whatever the per-attempt timeout", async () => {
    const started = Date.now();
    const result = await new Metered({ apiKey: key, baseUrl: blackHoleUrl, timeoutMs: 10_000, retries: 5, deadlineMs: 400 }).record();
    const took = Date.now() - started;
    expect(result).toMatchObject({ admitted: false, decidedBy: "policy", cause: "timeout" });
    if (result.decidedBy === "policy") expect(result.attempts).toBeLessThanOrEqual(2); // a timer may fire a hair early
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(1000);
  });
});
