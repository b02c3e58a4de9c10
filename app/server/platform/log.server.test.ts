// Logs never carry keys, secrets, emails or card numbers: unit checks of the scrubber, and a
// grep of a real app process's captured log after traffic that makes it log such values.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { newOrg, signIn } from "../../../test/billing";
import { api, orgWithKey, rid } from "../../../test/factories";
import { freePort } from "../../../test/ports";
import { scrub } from "./log.server";

describe("scrub", () => {
  test("removes API keys, Stripe secrets, webhook secrets, emails, card numbers and connection strings", () => {
    const out = JSON.stringify(
      scrub({
        msg: "key mk_live_abcdefghijklmnopqrstuvwxyz012345 for ann@example.com",
        nested: { text: "sk_test_123abc whsec_abc123 card 4242 4242 4242 4242 postgres://u:p@h/db" },
        authorization: "Bearer anything",
        email: "bob@example.com",
      }),
    );
    for (const leaked of [
      "abcdefghijklmnopqrstuvwxyz012345",
      "ann@example.com",
      "sk_test_123abc",
      "whsec_abc123",
      "4242 4242",
      "u:p@h",
      "Bearer anything",
      "bob@example.com",
    ]) {
      expect(out).not.toContain(leaked);
    }
    expect(out).toContain("mk_live_[REDACTED]");
  });
});

describe("captured app logs", () => {
  // A stand-in for Stripe (an outside service, not our code) that refuses the customer the way
  // Stripe does, quoting the email and the API key it was given. The app logs that error: the
  // line must be there, scrubbed.
  let stripe: ReturnType<typeof Bun.serve>;
  let app: TestApp;
  beforeAll(async () => {
    stripe = Bun.serve({
      hostname: "127.0.0.1",
      port: freePort(),
      async fetch(request) {
        const params = new URLSearchParams(await request.text());
        const key = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
        const json = (status: number, body: unknown) => Response.json(body, { status, headers: { "request-id": "req_standin" } });
        if (new URL(request.url).pathname === "/v1/test_helpers/test_clocks")
          return json(200, { id: "clock_standin", object: "test_helpers.test_clock", frozen_time: Number(params.get("frozen_time")), status: "ready" });
        return json(400, {
          error: {
            type: "invalid_request_error",
            param: "email",
            message: `Invalid email address: ${params.get("email")} (sent with key ${key}, card 4000 0000 0000 0002)`,
          },
        });
      },
    });
    app = await startApp({ LOG_LEVEL: "debug", STRIPE_LOCAL_PORT: String(stripe.port) });
  });
  afterAll(async () => {
    await app.stop();
    stripe.stop(true);
  });

  test("a Stripe error quoting the owner's email, the API key and a card is logged with all three redacted", async () => {
    const orgId = await newOrg();
    const r = await fetch(`${app.url}/api/v1/billing/checkout`, {
      method: "POST",
      headers: { cookie: await signIn(app, orgId), origin: app.url, "content-type": "application/json" },
      body: JSON.stringify({ planCode: "starter" }),
    });
    expect(r.status).toBe(500);
    await Bun.sleep(100);
    // The checkout's error, once (the portal configuration the app prepares at start met the same stand-in).
    const logged = app.logs.filter((l) => l.includes("Invalid email address") && l.includes(orgId));
    expect(logged.length).toBe(1);
    expect(logged[0]).toContain("[REDACTED_EMAIL]");
    expect(logged[0]).toContain("sk_test_[REDACTED]");
    expect(logged[0]).toContain("[REDACTED_CARD]");
    const text = app.logs.join("\n");
    expect(text).not.toContain("owner@example.com");
    expect(text).not.toContain("sk_test_local");
    expect(text).not.toContain("4000 0000 0000 0002");
  });

  test("bad API traffic (a wrong key, malformed and PII-bearing bodies) leaves no key or email, and every line is JSON", async () => {
    const { key } = await orgWithKey();
    const c = api(app.url, key);
    await c.record({ request_id: rid() });
    await c.record("{not json");
    await c.record({ request_id: rid(), email: "leak@example.com", card: "4242424242424242" });
    await fetch(`${app.url}/api/v1/quota`, { headers: { authorization: `Bearer ${key}x` } });
    await fetch(`${app.url}/api/diag/smoke`);
    await Bun.sleep(100);
    const text = app.logs.join("\n");
    expect(text).not.toContain(key.slice(8));
    expect(text).not.toContain("leak@example.com");
    expect(text).not.toContain("4242424242424242");
    expect(text).not.toMatch(/postgres:\/\/[^[]/);
    for (const line of app.logs) if (line.startsWith("{")) expect(() => JSON.parse(line)).not.toThrow();
  });
});
