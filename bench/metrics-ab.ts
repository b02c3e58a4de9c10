// A/B of observation on the hot path: two app processes on one fresh database, METRICS=on and
// METRICS=off, driven in alternation by wrk (bench/load.lua, quota checks, 32 connections, 5 s
// each, 3 rounds), so both see the same machine load. Prints req/s per round and the ratio.
// `bun bench/metrics-ab.ts`; a lighter companion to `bun run bench`.
import { spawn } from "bun";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { startApp } from "../test/app";
import { createTestDatabase } from "../test/db";

const db = await createTestDatabase("ab");
process.env.DATABASE_URL = db.url;
process.env.LOG_LEVEL = "warn";
const { orgWithKey } = await import("../test/factories");
const keys = await Promise.all(Array.from({ length: 20 }, () => orgWithKey({ included: 1_000_000_000 }).then((o) => o.key)));
const scenario = join(tmpdir(), `msp-ab-${process.pid}.txt`);
writeFileSync(scenario, ["quota", "ab", "0", "/", "", ...keys].join("\n"));
const apps = { on: await startApp({ METRICS: "on" }), off: await startApp({ METRICS: "off" }) };

async function wrk(url: string): Promise<number> {
  const p = spawn(["wrk", "-t2", "-c32", "-d5s", "-s", join(import.meta.dir, "load.lua"), url, "--", scenario], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const line = out
    .trim()
    .split("\n")
    .findLast((l) => l.startsWith("{"));
  return (JSON.parse(line!) as { rps: number }).rps;
}

const totals = { on: 0, off: 0 };
for (let round = 1; round <= 3; round++) {
  for (const mode of round % 2 ? (["on", "off"] as const) : (["off", "on"] as const)) {
    const rps = await wrk(apps[mode].url);
    totals[mode] += rps;
    console.log(`round ${round} METRICS=${mode}: ${Math.round(rps)} req/s`);
  }
}
console.log(`on/off: ${((totals.on / totals.off) * 100).toFixed(1)}%`);
await Promise.all([apps.on.stop(), apps.off.stop()]);
await db.drop();
process.exit(0);
