// Services of a fault test's own, on free ports, that the test may stop, pause and start again:
// an embedded Postgres and a redis-server. The shared servers (5432, 6379) are never touched, and
// only the processes started here are ever signalled.

import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../../db/embedded";
import { migrateDatabase } from "../../db/migrate";

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

export type OwnPostgres = {
  url: string;
  stop: () => Promise<void>;
  start: () => Promise<void>;
  /** SIGSTOP to the whole cluster (postmaster first, so it forks nothing meanwhile): connections stay open, nothing answers. */
  pause: () => void;
  resume: () => void;
  remove: () => Promise<void>;
};

/** A migrated embedded Postgres in .data/<label>-<pid>; `stop` and `start` keep its data. */
export async function startOwnPostgres(label: string): Promise<OwnPostgres> {
  const dir = join(import.meta.dir, "../../.data", `${label}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  const port = freePort();
  let running = await startEmbeddedPostgres({ dir, port, database: label });
  await migrateDatabase(running.url);
  let up = true;
  return {
    url: running.url,
    stop: async () => {
      up = false;
      await running.stop();
    },
    start: async () => {
      running = await startEmbeddedPostgres({ dir, port, database: label });
      up = true;
    },
    pause: () => {
      const postmaster = postmasterPid(dir);
      process.kill(postmaster, "SIGSTOP");
      for (const pid of childrenOf(postmaster)) process.kill(pid, "SIGSTOP");
    },
    resume: () => {
      const postmaster = postmasterPid(dir);
      for (const pid of childrenOf(postmaster)) process.kill(pid, "SIGCONT");
      process.kill(postmaster, "SIGCONT");
    },
    remove: async () => {
      if (up) await running.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const postmasterPid = (dir: string) => Number(readFileSync(join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);

/** The processes whose parent is `pid` (a postmaster's backends and helpers), from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid …": comm may hold spaces, so read after its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** An org on a starter subscription with `included` calls and an API key, written straight to `url`. */
export async function seedOrgWithKey(url: string, orgId: string, included = 50_000): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const key = `mk_test_${Array.from({ length: 32 }, () => "ABCDEFGHJKLMNPQRSTUVWXYZ"[Math.floor(Math.random() * 24)]).join("")}`;
  const hash = new Bun.CryptoHasher("sha256").update(key).digest("hex");
  await sql`insert into plans (code, name, price_monthly, currency, renews_as) values ('starter', 'Starter', 2900, 'usd', 'starter') on conflict do nothing`;
  await sql`insert into plan_units (plan_code, metric, included) values ('starter', 'api_call', ${included}) on conflict do nothing`;
  await sql`insert into organisations (id, name) values (${orgId}, ${orgId})`;
  await sql`insert into subscriptions (org_id, plan_code, status, period_start, period_end) values (${orgId}, 'starter', 'active', now(), now() + interval '1 month')`;
  await sql`insert into api_keys (id, org_id, name, prefix, hash) values (${`key_${orgId}`}, ${orgId}, 't', ${key.slice(0, 12)}, ${hash})`;
  await sql.end();
  return key;
}

export type OwnRedis = { url: string; pause: () => void; resume: () => void; stop: () => Promise<void> };

/** A redis-server with no persistence on a free port. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = freePort();
  const proc: Subprocess = spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdout: "ignore",
    stderr: "ignore",
  });
  for (let i = 0; i < 100; i++) {
    const ready = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
      (s) => {
        s.end();
        return true;
      },
      () => false,
    );
    if (ready) break;
    if (proc.exitCode !== null) throw new Error("redis-server exited at start");
    await Bun.sleep(50);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pause: () => proc.kill("SIGSTOP"),
    resume: () => proc.kill("SIGCONT"),
    stop: async () => {
      proc.kill("SIGCONT");
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** The p-th percentile (0–100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
