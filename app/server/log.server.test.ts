// Logs never carry keys, secrets, emails or card numbers: unit checks of the scrubber, and a
// grep of a real app process's captured log after a session of traffic.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { scrub } from "./log.server";
import { startApp, type TestApp } from "../../test/app";
import { api, orgWithKey, rid } from "../../test/factories";

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
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ LOG_LEVEL: "debug" });
  });
  afterAll(async () => {
    await app.stop();
  });

  test("a session of good and bad traffic leaves no key, email or secret in the logs", async () => {
    const { key } = await orgWithKey();
    const c = api(app.url, key);
    await c.record({ request_id: rid() });
    await c.record("{not json");
    await c.record({ request_id: rid(), email: "leak@example.com", card: "4242424242424242" });
    await fetch(`${app.url}/api/v1/quota`, { headers: { authorization: `Bearer ${key}x` } });
    await fetch(`${app.url}/api/diag/smoke`);
    await Bun.sleep(100);
    const text = app.logs.join("\n");
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(key.slice(8));
    expect(text).not.toContain("leak@example.com");
    expect(text).not.toContain("4242424242424242");
    expect(text).not.toMatch(/postgres:\/\/[^[]/);
    for (const line of app.logs) if (line.startsWith("{")) expect(() => JSON.parse(line)).not.toThrow();
  });
});
