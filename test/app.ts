// Starts the real app (`bun server.ts`, the built Remix app) as its own process on a port the
// OS picks (or the one given), against the test run's database, and keeps its log lines.

import { join } from "node:path";
import { type Subprocess, spawn } from "bun";

export type TestApp = { url: string; logs: string[]; proc: Subprocess; stop: (signal?: NodeJS.Signals) => Promise<void> };

const root = join(import.meta.dir, "..");

const running = new Set<string>();
/** The URLs of the apps this test file started and that still run, newest first. */
export const runningApps = (): string[] => [...running].reverse();

export async function startApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const port = env.PORT ? Number(env.PORT) : 0; // 0: the OS picks a free port
  const logs: string[] = [];
  const proc = spawn(["bun", "server.ts"], {
    cwd: root,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: "info", NODE_ENV: "test", ...env } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) logs.push(...decoder.decode(chunk).split("\n").filter(Boolean));
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  // Our process says where it listens; only then is the address known to be ours.
  let url: string | null = null;
  for (let i = 0; i < 300 && !url; i++) {
    if (proc.exitCode !== null) throw new Error(`app exited early:\n${logs.join("\n")}`);
    const line = logs.find((l) => l.includes('"msg":"app listening"'));
    if (line) url = (JSON.parse(line) as { url: string }).url;
    else await Bun.sleep(50);
  }
  if (!url) throw new Error(`app did not start:\n${logs.join("\n")}`);
  const started = url;
  running.add(started);
  void proc.exited.then(() => running.delete(started));
  return {
    url,
    logs,
    proc,
    stop: async (signal = "SIGTERM") => {
      proc.kill(signal);
      await proc.exited;
    },
  };
}

/** Waits until a condition the test tracks itself (a tally of answers) holds; fails after `timeoutMs`. */
export async function whenTrue(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(5);
  }
}
