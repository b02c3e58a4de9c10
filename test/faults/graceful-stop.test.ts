// One module graph per app process: the graceful stop drains and flushes the very copies of the
// key cache, the usage group commit and the pool that served, and the process holds one pool.
// (When server.ts imported app modules from source beside the build, it flushed empty copies.)
import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { sql } from "../../app/server/platform/db.server";
import { startApp, type TestApp, whenTrue } from "../app";
import { api, countsOf, orgWithKey } from "../factories";

let apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.map((a) => (a.proc.exitCode === null && a.proc.signalCode === null ? a.stop("SIGKILL") : a.proc.exited)));
  apps = [];
});

/** Fires `total` usage requests, `concurrency` at a time, each once; tallies the answers. */
function fire(url: string, key: string, total: number, concurrency: number) {
  const statuses = new Map<number | "no answer", number>();
  let next = 0;
  let answered = 0;
  const client = async () => {
    while (next < total) {
      const id = `stop_${next++}`;
      let status: number | "no answer";
      try {
        const res = await api(url, key).record({ request_id: id });
        await res.arrayBuffer();
        status = res.status;
        answered++;
      } catch {
        status = "no answer"; // the process had stopped accepting: nothing was read, nothing counted
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  return { statuses, done: Promise.all(Array.from({ length: concurrency }, client)), answered: () => answered };
}

/** The process's open TCP connections to `port` (Linux: its socket fds matched in /proc/net/tcp*). */
function tcpConnectionsTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {} // closed meanwhile
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // remote address is field 2 ("ADDR:PORT"), state field 3 (01 = established), inode field 9
      if (f.length > 9 && f[2].endsWith(`:${hexPort}`) && f[3] === "01" && inodes.has(f[9])) n++;
    }
  }
  return n;
}

describe("graceful stop of an app process", () => {
  test("a key used 0.5 s before SIGTERM has its last-used time written", async () => {
    const { key, keyId } = await orgWithKey();
    const app = await startApp();
    apps = [app];
    expect((await api(app.url, key).quota()).status).toBe(200);
    await Bun.sleep(500);
    await app.stop("SIGTERM");
    expect(app.proc.exitCode).toBe(0);
    expect(app.logs.some((l) => l.includes('"msg":"app stopped"'))).toBe(true);
    const [row] = await sql<{ lastUsedAt: Date | null }[]>`select last_used_at as "lastUsedAt" from api_keys where id = ${keyId}`;
    expect(row.lastUsedAt).not.toBeNull();
  }, 30_000);

  test("usage requests in flight at SIGTERM are answered, and what was answered 200 is exactly what was counted", async () => {
    const { orgId, key } = await orgWithKey({ included: 100_000 });
    const first = await startApp();
    const second = await startApp({ PORT: new URL(first.url).port });
    apps = [first, second];
    const load = fire(first.url, key, 4000, 32);
    await whenTrue(() => load.answered() >= 300);
    // Both processes at once, mid-load: each answers what it accepted, then exits.
    first.proc.kill("SIGTERM");
    second.proc.kill("SIGTERM");
    expect(await first.proc.exited).toBe(0);
    expect(await second.proc.exited).toBe(0);
    await load.done;
    const statuses = Object.fromEntries(load.statuses);
    // Every HTTP answer was a success; the requests sent after the port closed got no answer.
    expect(Object.keys(statuses).filter((s) => s !== "200" && s !== "no answer")).toEqual([]);
    const counts = await countsOf(orgId);
    expect({ used: Number(counts.used), ledger: Number(counts.ledger), rows: Number(counts.rows) }).toEqual({
      used: statuses[200],
      ledger: statuses[200],
      rows: statuses[200],
    });
  }, 60_000);

  test("one module graph per process: no more connections than its two pools hold (2 × DATABASE_POOL_SIZE)", async () => {
    const { key } = await orgWithKey();
    const app = await startApp({ DATABASE_POOL_SIZE: "3" });
    apps = [app];
    // Enough concurrent work to open every connection the pool may hold.
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        api(app.url, key)
          .record({ request_id: `pool_${i}` })
          .then((r) => r.arrayBuffer()),
      ),
    );
    await Promise.all(
      Array.from({ length: 60 }, () =>
        api(app.url, key)
          .quota()
          .then((r) => r.arrayBuffer()),
      ),
    );
    const open = tcpConnectionsTo(app.proc.pid, Number(new URL(process.env.DATABASE_URL ?? "").port || 5432));
    // The hot path's pool and the rest's (platform/db.server.ts), 3 each: a second copy of the
    // module graph would hold up to 12.
    expect(open).toBeGreaterThan(0);
    expect(open).toBeLessThanOrEqual(6);
  }, 30_000);
});
