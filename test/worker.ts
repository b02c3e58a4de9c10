// Starts the real worker (`bun worker/index.ts`) as its own process against the test run's
// database, keeps its log lines, and resolves once it says it has started.

import { join } from "node:path";
import { type Subprocess, spawn } from "bun";

export type TestWorker = { logs: string[]; proc: Subprocess; stop: (signal?: NodeJS.Signals) => Promise<void> };

export async function startWorker(env: Record<string, string | undefined> = {}): Promise<TestWorker> {
  const logs: string[] = [];
  const proc = spawn(["bun", "worker/index.ts"], {
    cwd: join(import.meta.dir, ".."),
    env: { ...process.env, LOG_LEVEL: "info", ...env } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const collect = async (stream: ReadableStream<Uint8Array>, echo: boolean) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      const text = decoder.decode(chunk);
      logs.push(...text.split("\n").filter(Boolean));
      // What the runtime itself prints (a crash) shows in the test output; the JSON log stays here.
      if (echo) process.stderr.write(text);
    }
  };
  void collect(proc.stdout, false);
  void collect(proc.stderr, true);
  for (let i = 0; i < 300 && !logs.some((l) => l.includes('"msg":"worker started"')); i++) {
    if (proc.exitCode !== null) throw new Error(`worker exited early:\n${logs.join("\n")}`);
    await Bun.sleep(50);
  }
  if (!logs.some((l) => l.includes('"msg":"worker started"'))) {
    // Not left running against a database the test drops.
    proc.kill("SIGKILL");
    throw new Error(`worker did not start:\n${logs.join("\n")}`);
  }
  return {
    logs,
    proc,
    stop: async (signal = "SIGTERM") => {
      proc.kill(signal);
      await proc.exited;
    },
  };
}
