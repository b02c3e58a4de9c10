// One load scenario through wrk (bench/load.lua; Debian's `wrk` package), and what it cost in
// CPU: wrk's own (from the kernel's accounting of the child), and any processes' (from
// /proc/<pid>/stat), since the load generator, the app processes and Postgres share the cores.

import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";

const root = join(import.meta.dir, "..");
export const duration = Number(process.env.BENCH_DURATION ?? 10);
export const connections = 64;
const scenarioFile = join(tmpdir(), `msp-bench-${process.pid}.txt`);
export const removeScenarioFile = () => rmSync(scenarioFile, { force: true });

/** CPU seconds (user + system) the processes have used so far; a process that is gone counts 0. */
export function cpuSecondsOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch {
      // gone
    }
  }
  return ticks / 100; // USER_HZ
}

export type Result = {
  rps: number;
  p50: number;
  p99: number;
  p97_5: number;
  errors: number;
  statuses: Record<string, number>;
  replayed: number;
  total: number;
  duration: number;
  /** CPU seconds wrk itself used (user + system): it shares the cores with the server. */
  generatorCpuS: number;
};
export type Scenario = {
  url: string;
  /** keyed: a GET of `path` with the keys (the entitlements reads). */
  kind: "bare" | "quota" | "usage" | "usage_parts" | "page" | "keyed";
  keys?: string[];
  runId?: string;
  dupEvery?: number;
  path?: string;
  cookie?: string;
  /** Requests per second over all connections (paced per connection); unset = as fast as possible. */
  overallRate?: number;
  connections?: number;
  duration?: number;
  /** Statuses that are not errors (default: 200). */
  expect?: number[];
};

/** One scenario through wrk (bench/load.lua); wrk uses 2 threads and far less CPU than the server. */
export async function load(s: Scenario): Promise<Result> {
  const conns = s.connections ?? connections;
  writeFileSync(scenarioFile, [s.kind, s.runId ?? "r", String(s.dupEvery ?? 0), s.path ?? "/", s.cookie ?? "", ...(s.keys ?? [])].join("\n"));
  const threads = Math.min(2, conns);
  const paceMs = s.overallRate ? Math.round((1000 * conns) / s.overallRate) : 0;
  const args = [
    "wrk",
    `-t${threads}`,
    `-c${conns}`,
    `-d${s.duration ?? duration}s`,
    "--timeout",
    "10s",
    "-s",
    join(import.meta.dir, "load.lua"),
    s.url,
    "--",
    scenarioFile,
  ];
  const p = spawn(args, { cwd: root, env: { ...process.env, BENCH_PACE_MS: String(paceMs) }, stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`wrk failed:\n${out}`);
  const line = out
    .trim()
    .split("\n")
    .findLast((l) => l.startsWith("{"));
  if (!line) throw new Error(`wrk printed no result:\n${out}`);
  const r = JSON.parse(line) as Omit<Result, "errors" | "generatorCpuS"> & { socketErrors: number };
  const cpu = p.resourceUsage()?.cpuTime;
  const expected = new Set((s.expect ?? [200]).map(String));
  const unexpected = Object.entries(r.statuses)
    .filter(([status]) => !expected.has(status))
    .reduce((a, [, n]) => a + n, 0);
  return { ...r, errors: r.socketErrors + unexpected, generatorCpuS: cpu ? Number(cpu.total) / 1e6 : Number.NaN };
}
