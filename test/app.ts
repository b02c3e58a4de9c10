// Starts the real app (`bun server.ts`, the built Remix app) as its own process on a free port,
// against the test run's database, and keeps its log lines for assertions.
import { spawn, type Subprocess } from "bun";
import { join } from "node:path";

export type TestApp = { url: string; logs: string[]; proc: Subprocess; stop: (signal?: NodeJS.Signals) => Promise<void> };

const root = join(import.meta.dir, "..");
let nextPort = 4100 + (process.pid % 500) * 4;

export async function startApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const port = env.PORT ? Number(env.PORT) : nextPort++;
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
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (proc.exitCode !== null) throw new Error(`app exited early:\n${logs.join("\n")}`);
    try {
      await fetch(`${url}/api/v1/plans`);
      break;
    } catch {
      await Bun.sleep(100);
    }
  }
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
