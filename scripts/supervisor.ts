// Keeps a set of child processes running: N app processes on one port (SO_REUSEPORT), M workers,
// the local Stripe. A child that exits on its own is started again after a backoff that doubles
// with each quick crash (0.5 s … 30 s; a child that ran 30 s counts as healthy again). `stop()`
// sends SIGTERM to every child, waits for their graceful stop, and SIGKILLs what is left. Each
// child runs in a session of its own, so a terminal's Ctrl-C reaches the supervising process only.
// Used by `npm start` (scripts/run.ts) and the production start (scripts/serve.ts).
import { type Subprocess, spawn } from "bun";

export const MIN_BACKOFF_MS = 500;
export const MAX_BACKOFF_MS = 30_000;
const HEALTHY_AFTER_MS = 30_000;

/** The wait before restart number `crashes` in a row (1, 2, …). */
export function backoffMs(crashes: number): number {
  return Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.max(0, crashes - 1));
}

export type SupervisorOptions = {
  cwd: string;
  env: Record<string, string>;
  /** Every line a child writes (stdout and stderr). */
  onLine: (name: string, line: string) => void;
  say: (msg: string) => void;
  /** Asked when a child exited on its own: false (e.g. it never got ready) stops everything instead. */
  restartable: (name: string) => boolean;
  /** Called once when a child may not be restarted; the supervisor is stopping by then. */
  onFatal: (name: string, code: number) => void;
  /** Called after each start and restart of a child (its pid has changed). */
  onStarted?: (name: string) => void;
};

type Child = { name: string; args: string[]; env: Record<string, string>; proc: Subprocess; startedAt: number; crashes: number };

export class Supervisor {
  private readonly children = new Map<string, Child>();
  private stopping = false;

  constructor(private readonly opts: SupervisorOptions) {}

  /** Starts `args` as the child `name` (unique), with the base environment plus `env`. */
  start(name: string, args: string[], env: Record<string, string> = {}): void {
    this.launch({ name, args, env, crashes: 0 });
  }

  /** The pids of the children now running, by name. */
  pids(): Record<string, number> {
    return Object.fromEntries([...this.children.values()].map((c) => [c.name, c.proc.pid]));
  }

  private launch(spec: Pick<Child, "name" | "args" | "env" | "crashes">): void {
    const proc = spawn(spec.args, {
      // A session of its own: the Ctrl-C a terminal sends to its foreground process group reaches
      // only the supervising process, which stops the children in order (`stop`).
      detached: true,
      cwd: this.opts.cwd,
      // SUPERVISOR_PID: a child whose supervisor is gone stops itself (platform/process-guard.server.ts).
      env: { ...this.opts.env, SERVICE_NAME: spec.name.split(".")[0], SUPERVISOR_PID: String(process.pid), ...spec.env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const child: Child = { ...spec, proc, startedAt: Date.now() };
    this.children.set(spec.name, child);
    void this.pipeLines(spec.name, proc.stdout);
    void this.pipeLines(spec.name, proc.stderr);
    void proc.exited.then((code) => this.exited(child, code));
    this.opts.onStarted?.(spec.name);
  }

  private exited(child: Child, code: number): void {
    if (this.stopping) return;
    if (!this.opts.restartable(child.name)) {
      this.opts.say(`${child.name} exited with code ${code}; stopping everything.`);
      this.opts.onFatal(child.name, code || 1);
      return;
    }
    const crashes = Date.now() - child.startedAt >= HEALTHY_AFTER_MS ? 1 : child.crashes + 1;
    const wait = backoffMs(crashes);
    this.opts.say(`${child.name} exited with code ${code}; restarting it in ${wait} ms (${crashes} in a row).`);
    setTimeout(() => {
      if (!this.stopping) this.launch({ name: child.name, args: child.args, env: child.env, crashes });
    }, wait);
  }

  private async pipeLines(name: string, stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim()) this.opts.onLine(name, line);
      }
    }
  }

  /**
   * SIGTERM to every child; after `graceMs`, SIGKILL to those still running. The children named in
   * `last` are stopped only once the others have exited (what the draining apps still call).
   */
  async stop(graceMs: number, last: string[] = []): Promise<void> {
    this.stopping = true;
    const running = [...this.children.values()].filter((c) => c.proc.exitCode === null && c.proc.signalCode === null);
    await this.stopGroup(
      running.filter((c) => !last.includes(c.name)),
      graceMs,
    );
    await this.stopGroup(
      running.filter((c) => last.includes(c.name)),
      graceMs,
    );
  }

  private async stopGroup(children: Child[], graceMs: number): Promise<void> {
    for (const c of children) c.proc.kill("SIGTERM");
    await Promise.race([Promise.all(children.map((c) => c.proc.exited)), Bun.sleep(graceMs)]);
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
    await Promise.all(children.map((c) => c.proc.exited));
  }
}

/** Whether nothing listens on host:port now (so our processes, sharing it, are the only ones). */
export function portIsFree(hostname: string, port: number): boolean {
  try {
    const probe = Bun.listen({ hostname, port, socket: { data() {} } });
    probe.stop(true);
    return true;
  } catch {
    return false;
  }
}
