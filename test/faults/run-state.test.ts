// Custom ports and several copies on one machine: `npm start` (scripts/run.ts) writes where its
// database and local Stripe run, `ops` uses that (or says what to set), and the run never takes
// whatever answers on its port for its own app.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { freePort } from "../ports";

const root = join(import.meta.dir, "..", "..");
const tmp = mkdtempSync(join(tmpdir(), "run-state-"));

/** The environment of a shell with none of the test run's connection settings. */
function bareEnv(extra: Record<string, string>): Record<string, string> {
  const { DATABASE_URL: _db, STRIPE_LOCAL_PORT: _stripe, ...rest } = process.env as Record<string, string>;
  return { ...rest, LOG_LEVEL: "warn", ...extra };
}

function startRun(env: Record<string, string>) {
  const output: string[] = [];
  const proc = spawn(["bun", "scripts/run.ts"], { cwd: root, env: bareEnv({ STIGG_LOCAL_PORT: String(freePort()), ...env }), stdout: "pipe", stderr: "pipe" });
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) output.push(decoder.decode(chunk));
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  return { proc, output: () => output.join("") };
}

async function ready(run: { proc: Subprocess; output: () => string }): Promise<boolean> {
  for (let i = 0; i < 1200; i++) {
    if (run.output().includes("ready: open")) return true;
    if (run.proc.exitCode !== null) return false;
    await Bun.sleep(50);
  }
  throw new Error(`the run neither got ready nor stopped:\n${run.output()}`);
}

async function ops(env: Record<string, string>, ...args: string[]) {
  const proc = spawn(["bun", join(root, "cli/ops.ts"), ...args], { cwd: root, env: bareEnv(env), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

describe("npm start and ops with custom ports", () => {
  test("the run writes where its database and local Stripe are; ops uses it; a clean stop removes it", async () => {
    const stateFile = join(tmp, "live.json");
    const [appPort, stripePort] = [freePort(), freePort()];
    const run = startRun({ RUN_STATE_FILE: stateFile, DATABASE_URL: process.env.DATABASE_URL!, PORT: String(appPort), STRIPE_LOCAL_PORT: String(stripePort) });
    try {
      if (!(await ready(run))) throw new Error(`the run stopped:\n${run.output()}`);
      const state = JSON.parse(readFileSync(stateFile, "utf8"));
      expect(state).toMatchObject({
        pid: run.proc.pid,
        databaseUrl: process.env.DATABASE_URL,
        appUrl: `http://127.0.0.1:${appPort}`,
        stripeLocalPort: stripePort,
      });
      const smoke = (await (await fetch(`${state.appUrl}/api/diag/smoke`)).json()) as { data: { instanceId: string } };
      // Every app process shares the port: the one answering is one of the run's own.
      expect(state.appInstanceIds).toContain(smoke.data.instanceId);
      for (const id of state.appInstanceIds) expect(run.output()).toContain(id);

      // An operator's shell: no DATABASE_URL, no STRIPE_LOCAL_PORT.
      const orgId = `org_rs${Date.now().toString(36)}`;
      const created = await ops({ RUN_STATE_FILE: stateFile }, "org:create", orgId, "--json");
      expect(created.code).toBe(0);
      const { stripeCustomerId } = JSON.parse(created.stdout);
      // The customer is in the run's own local Stripe, on its custom port.
      const customer = await fetch(`http://127.0.0.1:${stripePort}/v1/customers/${stripeCustomerId}`, { headers: { authorization: "Bearer sk_test_check" } });
      expect(customer.status).toBe(200);
    } finally {
      run.proc.kill("SIGTERM");
      await run.proc.exited;
    }
    expect(existsSync(stateFile)).toBe(false);
  }, 90_000);

  test("ops with a stale state file (its run was killed) says so and what to set", async () => {
    const gone = spawn(["true"]);
    await gone.exited;
    const stateFile = join(tmp, "stale.json");
    const state = {
      pid: gone.pid,
      startedAt: new Date().toISOString(),
      databaseUrl: process.env.DATABASE_URL,
      appUrl: "http://127.0.0.1:1",
      appInstanceId: "inst_gone",
      stripeLocalPort: 1,
    };
    writeFileSync(stateFile, JSON.stringify(state));
    const json = await ops({ RUN_STATE_FILE: stateFile }, "jobs", "--json");
    expect(json.code).toBe(1);
    const { error } = JSON.parse(json.stdout);
    expect(error.code).toBe("SERVICE_UNAVAILABLE");
    expect(error.message).toContain("stale");
    expect(error.message).toContain(`pid ${gone.pid}`);
    expect(error.message).toContain("DATABASE_URL");
    const human = await ops({ RUN_STATE_FILE: stateFile }, "jobs");
    expect(human.code).toBe(1);
    expect(human.stderr).toContain("is no longer running");
  });

  test("ops with no DATABASE_URL and no run says what to set instead of trying a default port", async () => {
    const r = await ops({ RUN_STATE_FILE: join(tmp, "none.json") }, "jobs", "--json");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.message).toMatch(/DATABASE_URL is not set.*npm start/);
  });

  test("the run never takes another process answering on its app port for its own app", async () => {
    const impostor = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => Response.json({ ok: true, data: { ok: true, instanceId: "inst_someone_else" } }),
    });
    try {
      const run = startRun({
        RUN_STATE_FILE: join(tmp, "impostor.json"),
        DATABASE_URL: process.env.DATABASE_URL!,
        PORT: String(impostor.port),
        STRIPE_LOCAL_PORT: String(freePort()),
      });
      if (await ready(run)) throw new Error(`the run took the impostor for its app:\n${run.output()}`);
      expect(await run.proc.exited).not.toBe(0);
      expect(existsSync(join(tmp, "impostor.json"))).toBe(false);
    } finally {
      impostor.stop(true);
    }
  }, 90_000);
});
