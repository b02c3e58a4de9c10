// Scale-out on one machine: two app processes listen on one port (SO_REUSEPORT). One killed
// outright leaves the other serving; one stopped with SIGTERM under load finishes what it had;
// clients that retry with the same request_id get every unit counted exactly once across both;
// a revoked key fails on every process within 5 s.
import { afterEach, describe, expect, test } from "bun:test";
import { revokeApiKey } from "../../app/server/auth/keys.server";
import { startApp, type TestApp, whenTrue } from "../app";
import { countsOf, orgWithKey } from "../factories";

let apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.map((a) => (a.proc.exitCode === null && a.proc.signalCode === null ? a.stop("SIGKILL") : a.proc.exited)));
  apps = [];
});

/** Two app processes on one port; resolves once connections to the port have reached both. */
async function twoAppsOnOnePort(): Promise<[TestApp, TestApp]> {
  const first = await startApp();
  const second = await startApp({ PORT: new URL(first.url).port });
  apps = [first, second];
  expect(second.url).toBe(first.url);
  const seen = new Set<string>();
  for (let i = 0; i < 200 && seen.size < 2; i++) seen.add(await instanceOnNewConnection(first.url));
  expect(seen.size).toBe(2);
  return [first, second];
}

async function instanceOnNewConnection(url: string): Promise<string> {
  const res = await fetch(`${url}/api/diag/smoke`, { headers: { connection: "close" } });
  return ((await res.json()) as { data: { instanceId: string } }).data.instanceId;
}

type Tally = { acknowledged: Set<string>; retries: number; statuses: Map<number, number> };

/**
 * `clients` loops, each recording fresh request_ids until `total` are acknowledged. A request
 * that gets no answer (connection reset) or a 503 is retried with the same request_id, as the
 * API contract tells clients to.
 */
function hammer(url: string, key: string, opts: { clients: number; total: number; tag: string }) {
  const tally: Tally = { acknowledged: new Set(), retries: 0, statuses: new Map() };
  let next = 0;
  const client = async () => {
    while (next < opts.total) {
      const id = `${opts.tag}_${next++}`;
      for (let attempt = 0; ; attempt++) {
        if (attempt > 50) throw new Error(`${id} never answered`);
        try {
          const res = await fetch(`${url}/api/v1/usage`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({ request_id: id }),
          });
          await res.arrayBuffer();
          tally.statuses.set(res.status, (tally.statuses.get(res.status) ?? 0) + 1);
          if (res.status === 200) {
            tally.acknowledged.add(id);
            break;
          }
          if (res.status !== 503) throw new Error(`${id}: unexpected ${res.status}`);
        } catch (err) {
          if ((err as Error).message.startsWith(id)) throw err;
        }
        tally.retries++;
        await Bun.sleep(20);
      }
    }
  };
  const done = Promise.all(Array.from({ length: opts.clients }, client));
  return { tally, done, progress: () => tally.acknowledged.size };
}

describe("two app processes on one port", () => {
  test("one killed with SIGKILL: the other keeps serving and retried requests are counted exactly once", async () => {
    const { orgId, key } = await orgWithKey({ included: 100_000 });
    const [victim] = await twoAppsOnOnePort();
    const load = hammer(victim.url, key, { clients: 8, total: 1500, tag: "kill" });
    await whenTrue(() => load.progress() >= 300);
    victim.proc.kill("SIGKILL");
    await victim.proc.exited;
    const acknowledgedAtKill = load.progress();
    await load.done;
    // The survivor answered everything after the kill.
    expect(load.progress() - acknowledgedAtKill).toBeGreaterThan(1000);
    expect(await instanceOnNewConnection(victim.url)).toBeString();
    const counts = await countsOf(orgId);
    expect(load.tally.acknowledged.size).toBe(1500);
    expect({ used: Number(counts.used), ledger: Number(counts.ledger), rows: Number(counts.rows) }).toEqual({ used: 1500, ledger: 1500, rows: 1500 });
  }, 60_000);

  test("one stopped with SIGTERM under load: in-flight requests finish, it exits cleanly, nothing is lost or counted twice", async () => {
    const { orgId, key } = await orgWithKey({ included: 100_000 });
    const [stopped] = await twoAppsOnOnePort();
    const load = hammer(stopped.url, key, { clients: 16, total: 2000, tag: "term" });
    await whenTrue(() => load.progress() >= 400);
    stopped.proc.kill("SIGTERM");
    expect(await stopped.proc.exited).toBe(0);
    expect(stopped.logs.some((l) => l.includes('"msg":"app stopped"'))).toBe(true);
    await load.done;
    // A graceful stop answers what it accepted: no 5xx. (A request sent on a keep-alive connection
    // just as the stopping process closes it idle gets no answer; the client retries it, as for
    // any lost connection, with the same request_id.)
    expect([...load.tally.statuses.keys()]).toEqual([200]);
    const counts = await countsOf(orgId);
    expect({ used: Number(counts.used), ledger: Number(counts.ledger), rows: Number(counts.rows) }).toEqual({ used: 2000, ledger: 2000, rows: 2000 });
  }, 60_000);

  test("a key revoked in the database fails on every process within 5 s", async () => {
    const { key, keyId } = await orgWithKey();
    const [app] = await twoAppsOnOnePort();
    const quota = () => fetch(`${app.url}/api/v1/quota`, { headers: { authorization: `Bearer ${key}`, connection: "close" } }).then((r) => r.status);
    // Both processes have the key cached as valid.
    for (let i = 0; i < 20; i++) expect(await quota()).toBe(200);
    await revokeApiKey({ keyId });
    const revokedAt = Date.now();
    let lastAccepted = revokedAt;
    while (Date.now() - revokedAt < 6000) {
      if ((await quota()) === 200) lastAccepted = Date.now();
      await Bun.sleep(25);
    }
    expect(lastAccepted - revokedAt).toBeLessThan(5000);
  }, 30_000);
});
