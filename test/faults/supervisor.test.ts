// `npm start` (scripts/run.ts) runs APP_PROCESSES app processes on one port and WORKER_PROCESSES
// workers under the supervisor: a process that dies is restarted (the port keeps answering
// meanwhile, the state file names the new instance), and SIGTERM stops every one of them.
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import type { RunState } from "../../scripts/run-state";
import { backoffMs, MAX_BACKOFF_MS, MIN_BACKOFF_MS } from "../../scripts/supervisor";
import { freePort } from "../ports";

const root = join(import.meta.dir, "..", "..");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  output: () => string,
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output()}`);
    await Bun.sleep(50);
  }
}

/** Starts `npm start` (scripts/run.ts) with `env` over the test's; its output is collected. */
function startRun(env: Record<string, string>) {
  const { STRIPE_LOCAL_PORT: _s, ...rest } = process.env as Record<string, string>;
  const chunks: string[] = [];
  const run = spawn(["bun", "scripts/run.ts"], {
    cwd: root,
    env: { ...rest, LOG_LEVEL: "info", STRIPE_LOCAL_PORT: String(freePort()), STIGG_LOCAL_PORT: String(freePort()), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  for (const stream of [run.stdout, run.stderr]) {
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(decoder.decode(chunk));
    })();
  }
  return { run, output: () => chunks.join("") };
}

test("restart backoff doubles from 0.5 s and stops growing at 30 s", () => {
  expect([1, 2, 3, 4].map(backoffMs)).toEqual([MIN_BACKOFF_MS, 2 * MIN_BACKOFF_MS, 4 * MIN_BACKOFF_MS, 8 * MIN_BACKOFF_MS]);
  expect(backoffMs(40)).toBe(MAX_BACKOFF_MS);
});

test("npm start runs two app processes on one port and two workers; a killed app is restarted while the other serves; SIGTERM stops all", async () => {
  const stateFile = join(mkdtempSync(join(tmpdir(), "supervisor-")), "state.json");
  const { run, output } = startRun({ RUN_STATE_FILE: stateFile, PORT: String(freePort()), APP_PROCESSES: "2", WORKER_PROCESSES: "2" });
  let pids: number[] = [];
  try {
    await until("ready", () => output().includes("ready: open"), output, 90_000);
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as RunState;
    expect(state.appInstanceIds).toHaveLength(2);
    expect(Object.keys(state.processes).sort()).toEqual(["app.1", "app.2", "stigg", "stripe", "worker.1", "worker.2"]);
    pids = Object.values(state.processes);
    await until("both workers started", () => (output().match(/worker started/g) ?? []).length >= 2, output);

    // app.1 dies: the port keeps answering (app.2), and app.1 comes back with a new instance id.
    const smoke = () =>
      fetch(`${state.appUrl}/api/diag/smoke`, { headers: { connection: "close" } }).then(
        async (r) => ((await r.json()) as { data: { instanceId: string } }).data.instanceId,
      );
    process.kill(state.processes["app.1"], "SIGKILL");
    await until("app.1 gone", () => !alive(state.processes["app.1"]), output);
    for (let i = 0; i < 10; i++) expect(await smoke()).toBe(state.appInstanceIds[1]);
    const restarted = await until(
      "app.1 restarted",
      () => {
        const now = JSON.parse(readFileSync(stateFile, "utf8")) as RunState;
        return now.appInstanceIds[0] !== state.appInstanceIds[0] && now;
      },
      output,
    );
    expect(output()).toContain("app.1 exited with code");
    expect(restarted.appInstanceIds[1]).toBe(state.appInstanceIds[1]);
    pids.push(restarted.processes["app.1"]);
    const seen = new Set<string>();
    for (let i = 0; i < 200 && seen.size < 2; i++) seen.add(await smoke());
    expect([...seen].sort()).toEqual([...restarted.appInstanceIds].sort());

    // worker.1 dies: it is restarted, and the state file names its new pid, not the dead one.
    const deadWorker = restarted.processes["worker.1"];
    process.kill(deadWorker, "SIGKILL");
    const afterWorker = await until(
      "worker.1 restarted in the state file",
      () => {
        const now = JSON.parse(readFileSync(stateFile, "utf8")) as RunState;
        return now.processes["worker.1"] !== deadWorker && alive(now.processes["worker.1"]) && now;
      },
      output,
    );
    pids.push(afterWorker.processes["worker.1"]);
  } finally {
    run.kill("SIGTERM");
    await run.exited;
  }
  expect(existsSync(stateFile)).toBe(false);
  expect(pids.filter(alive)).toEqual([]);
}, 120_000);

test("bun run serve (the production start) runs APP_PROCESSES apps on one port and the workers, and SIGTERM stops each gracefully", async () => {
  const port = freePort();
  const chunks: string[] = [];
  const serve = spawn(["bun", "scripts/serve.ts"], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "info", NODE_ENV: "test", PORT: String(port), APP_PROCESSES: "2", WORKER_PROCESSES: "1" } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = () => chunks.join("");
  for (const stream of [serve.stdout, serve.stderr]) {
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(decoder.decode(chunk));
    })();
  }
  try {
    await until(
      "two apps and a worker",
      () => (output().match(/"app listening"/g) ?? []).length === 2 && output().includes('"worker started"'),
      output,
      60_000,
    );
    const res = await fetch(`http://127.0.0.1:${port}/api/diag/smoke`);
    expect(res.status).toBe(200);
  } finally {
    serve.kill("SIGTERM");
  }
  expect(await serve.exited).toBe(0);
  expect((output().match(/"app stopped"/g) ?? []).length).toBe(2);
  expect(output()).toContain('"worker stopping"');
}, 90_000);

test("npm start killed outright (kill -9): its children, each in a session of its own, notice and stop by themselves", async () => {
  const stateFile = join(mkdtempSync(join(tmpdir(), "supervisor-")), "state.json");
  const { run, output } = startRun({ RUN_STATE_FILE: stateFile, PORT: String(freePort()), APP_PROCESSES: "1" });
  let pids: number[] = [];
  try {
    await until("ready", () => output().includes("ready: open"), output, 90_000);
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as RunState;
    pids = Object.values(state.processes);
    expect(Object.keys(state.processes).sort()).toEqual(["app.1", "stigg", "stripe", "worker.1"]);
    run.kill("SIGKILL");
    await run.exited;
    await until("every child stopped", () => pids.every((pid) => !alive(pid)), output, 20_000);
  } finally {
    for (const pid of pids.filter(alive)) process.kill(pid, "SIGKILL");
  }
}, 120_000);
