// The process guard (app and worker): an error nothing handled — a rejected promise nobody
// awaits, a throw from a timer — is logged once, structured and scrubbed, and the process keeps
// running. Without it Bun ends the process at the first one.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { spawn } from "bun";

test("a stray rejection and a stray throw are logged as JSON and the process keeps running", async () => {
  const proc = spawn(["bun", join(import.meta.dir, "stray-errors.fixture.ts")], {
    env: { ...process.env, LOG_LEVEL: "info" } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ code, err }).toEqual({ code: 0, err: "" });
  const lines = out
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { level?: string; kind?: string; msg: string; err?: { message: string } });
  expect(lines.map((l) => [l.level, l.kind, l.msg])).toEqual([
    ["error", "unhandledRejection", "unhandled error; the process keeps running"],
    ["error", "uncaughtException", "unhandled error; the process keeps running"],
    [undefined, undefined, "still running"],
  ]);
  expect(lines[0].err?.message).toBe("stray rejection sk_test_[REDACTED]");
});
