// No stack trace reaches a log line (docs/operations.md, "Logs"): an error is logged as its type,
// message, code and cause, under `err` or any other key, nested or not.
import { expect, test } from "bun:test";
import pino from "pino";
import { logOptions } from "./log.server";

function linesOf(write: (logger: pino.Logger) => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const logger = pino({ ...logOptions, level: "info" }, { write: (line: string) => void lines.push(line) });
  write(logger);
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

test("an error is logged with its type, message, code and cause, never its stack", () => {
  const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:12111"), { code: "ECONNREFUSED" });
  const err = Object.assign(new TypeError("Stripe is not answering", { cause }), { code: "UPSTREAM_UNAVAILABLE" });
  const [line] = linesOf((logger) => logger.error({ err, orgId: "org_1" }, "billing request failed"));
  expect(line.err).toEqual({
    type: "TypeError",
    message: "Stripe is not answering",
    code: "UPSTREAM_UNAVAILABLE",
    cause: { type: "Error", message: "connect ECONNREFUSED 127.0.0.1:12111", code: "ECONNREFUSED" },
  });
  expect(line.orgId).toBe("org_1");
  expect(JSON.stringify(line)).not.toContain("at ");
  expect(JSON.stringify(line)).not.toMatch(/stack|\.ts:\d+|\.js:\d+/);
});

test("errors under other keys, nested, and plain objects with a stack field lose the stack too", () => {
  const [line] = linesOf((logger) =>
    logger.warn({ failure: new Error("boom"), detail: { inner: new RangeError("deep"), stack: "Error: x\n    at f (/app/a.js:1:1)" } }, "m"),
  );
  expect(line.failure).toEqual({ type: "Error", message: "boom" });
  expect(line.detail).toEqual({ inner: { type: "RangeError", message: "deep" } });
});

test("what is logged of an error is still scrubbed of secrets", () => {
  const err = new Error("Failed query: select 1\nparams: mk_live_abcdef123456,carol@example.com");
  const text = JSON.stringify(linesOf((logger) => logger.error({ err }, "query failed"))[0]);
  expect(text).not.toContain("mk_live_abcdef123456");
  expect(text).not.toContain("carol@example.com");
  expect(text).toContain("params: [REDACTED]");
});
