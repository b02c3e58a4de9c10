// Ctrl-C on `npm start` with the embedded Postgres: the terminal sends SIGINT to the whole
// foreground process group. The run must stop in order — the apps answer what is in flight and the
// worker deletes its heartbeat, then the local Stripe, then Postgres — so no request gets a 503
// from a database that went away first, and nothing is left running.
import { expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "bun";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../../db/embedded";
import type { RunState } from "../../scripts/run-state";
import { freePort, seedOrgWithKey } from "./own-services";

const root = join(import.meta.dir, "..", "..");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("Ctrl-C (SIGINT to the process group) drains the apps and the worker before Postgres stops: no 503, no heartbeat left, nothing left running", async () => {
  const dir = join(root, ".data", `ctrl-c-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  const stateFile = join(dir, "run-state.json");
  const pgDir = join(dir, "pg");
  const pgPort = freePort();
  const { DATABASE_URL: _db, STRIPE_LOCAL_PORT: _s, ...rest } = process.env as Record<string, string>;
  const chunks: string[] = [];
  // detached: the run leads a process group of its own, as a shell's foreground job does.
  const run = spawn(["bun", "scripts/run.ts"], {
    cwd: root,
    detached: true,
    env: {
      ...rest,
      LOG_LEVEL: "info",
      RUN_STATE_FILE: stateFile,
      PORT: String(freePort()),
      STRIPE_LOCAL_PORT: String(freePort()),
      STIGG_LOCAL_PORT: String(freePort()),
      EMBEDDED_PG_PORT: String(pgPort),
      EMBEDDED_PG_DIR: pgDir,
      APP_PROCESSES: "1",
      WORKER_PROCESSES: "1",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = () => chunks.join("");
  for (const stream of [run.stdout, run.stderr]) {
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(decoder.decode(chunk));
    })();
  }
  try {
    for (let i = 0; !output().includes("ready: open"); i++) {
      if (run.exitCode !== null || i > 1200) throw new Error(`the run did not get ready:\n${output()}`);
      await Bun.sleep(50);
    }
    for (let i = 0; !output().includes("worker started"); i++) {
      if (i > 400) throw new Error(`the worker did not start:\n${output()}`);
      await Bun.sleep(50);
    }
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as RunState;
    const pgPid = Number(readFileSync(join(pgDir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
    const key = await seedOrgWithKey(state.databaseUrl, "org_ctrl_c", 1_000_000);

    // Usage from 16 clients until the system stops answering (a refused or closed connection).
    const answers = new Map<number | "no answer", number>();
    let next = 0;
    const client = async () => {
      for (;;) {
        try {
          const res = await fetch(`${state.appUrl}/api/v1/usage`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({ request_id: `ctrl_c_${next++}`, quantity: 1 }),
          });
          await res.arrayBuffer();
          answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
        } catch {
          answers.set("no answer", (answers.get("no answer") ?? 0) + 1);
          return;
        }
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, client));
    while ((answers.get(200) ?? 0) < 200) await Bun.sleep(10);

    process.kill(-run.pid, "SIGINT");
    await load;
    expect(await run.exited).toBe(0);

    const statuses = Object.fromEntries(answers);
    expect(Object.keys(statuses).filter((s) => s !== "200" && s !== "no answer")).toEqual([]);
    expect(existsSync(stateFile)).toBe(false);
    // Postgres, its watchdog shell, the apps, the worker and the local Stripe: all gone.
    expect([pgPid, ...Object.values(state.processes)].filter(alive)).toEqual([]);
    expect(Bun.spawnSync(["pgrep", "-f", pgDir]).stdout.toString().trim()).toBe("");

    // What the database kept: no worker heartbeat, and every request answered 200 counted once.
    const db = await startEmbeddedPostgres({ dir: pgDir, port: pgPort, database: "metered" });
    try {
      const sql = postgres(db.url, { max: 1, onnotice: () => {} });
      const [{ beats }] = await sql<{ beats: number }[]>`select count(*)::int as beats from worker_heartbeats`;
      const [{ used, events }] = await sql<{ used: number; events: number }[]>`
        select (select coalesce(sum(used), 0)::int from usage_counters where org_id = 'org_ctrl_c') as used,
               (select count(*)::int from usage_events where org_id = 'org_ctrl_c') as events`;
      await sql.end();
      expect(beats).toBe(0);
      expect(used).toBe(events);
      // A request cut off as the listener closed got no answer and may or may not have been admitted.
      expect(used).toBeGreaterThanOrEqual(answers.get(200) ?? 0);
      expect(used).toBeLessThanOrEqual((answers.get(200) ?? 0) + (answers.get("no answer") ?? 0));
    } finally {
      await db.stop();
    }
  } finally {
    if (run.exitCode === null) {
      process.kill(-run.pid, "SIGKILL");
      await run.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
