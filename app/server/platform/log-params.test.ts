// A failed database query's error carries the query's values (drizzle: "Failed query: …
// params: …"), such as an API key's hash or an email: they never reach a log line.
import { expect, test } from "bun:test";
import { scrub } from "./log.server";

test("a failed query's parameters are redacted from an error's message and stack", () => {
  const hash = "9f2c4e1a7b3d5f6e8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f";
  const err = new Error(`Failed query: select "id" from "api_keys" where "hash" = $1\nparams: ${hash},carol`);
  const out = JSON.stringify(scrub({ err }));
  expect(out).not.toContain(hash);
  expect(out).not.toContain("carol");
  expect(out).toContain("params: [REDACTED]");
  expect(out).toContain("Failed query");
});
