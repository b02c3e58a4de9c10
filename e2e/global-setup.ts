// Starts the whole system with the README's run script (scripts/run.ts: local Stripe, app,
// worker) on a fresh database and its own ports; stops it when the run ends. The run checks that
// each port answers with the process it started (instance ids), and so does this setup.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";

const root = fileURLToPath(new URL("..", import.meta.url));

export default async function globalSetup() {
  const port = process.env.E2E_PORT ?? "3100";
  const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  let databaseUrl: string | undefined;
  let dbName: string | undefined;
  try {
    const admin = postgres(adminUrl, { max: 1, connect_timeout: 2, onnotice: () => {} });
    dbName = `msp_test_${Date.now().toString(36)}_e2e_${process.pid}`;
    await admin.unsafe(`create database "${dbName}"`);
    await admin.end();
    const u = new URL(adminUrl);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
  } catch {
    // No Postgres server: the run script starts its embedded one.
  }
  const env = {
    ...process.env,
    PORT: port,
    STRIPE_LOCAL_PORT: process.env.E2E_STRIPE_PORT ?? "12200",
    STIGG_LOCAL_PORT: process.env.E2E_STIGG_PORT ?? "12201",
    EMBEDDED_PG_PORT: "54340",
    ADMIN_EMAILS: "admin@e2e.test",
    STRIPE_EVENT_MAX_ATTEMPTS: "2",
    SESSION_SECRET: "e2e-session-secret-e2e-session-secret",
    LOG_LEVEL: "warn",
    RUN_STATE_FILE: join(root, "e2e", "artifacts", "run-state.json"),
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  process.env.E2E_DATABASE_URL = databaseUrl ?? `postgres://postgres:postgres@127.0.0.1:54340/metered`;
  process.env.E2E_STRIPE_PORT = env.STRIPE_LOCAL_PORT;
  const child = spawn("bun", ["scripts/run.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const deadline = Date.now() + 90_000;
  while (!output.includes("ready: open")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the system did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // The journeys run against the app the run started, never whatever else answers on that port:
  // the run names its app processes' instance ids (all on one port), which each reports in /api/diag/smoke.
  const [, url, instanceIds] = /ready: open (\S+) +\(instance ([\w ]+);/.exec(output) ?? [];
  const smoke = url ? ((await (await fetch(`${url}/api/diag/smoke`)).json()) as { data?: { instanceId?: string } }) : {};
  if (url !== `http://127.0.0.1:${port}` || !instanceIds?.split(" ").includes(smoke.data?.instanceId ?? "")) {
    process.kill(-child.pid!, "SIGTERM");
    throw new Error(`the app answering on port ${port} is not the one this run started:\n${output}`);
  }
  return async () => {
    process.kill(-child.pid!, "SIGTERM");
    await new Promise((r) => setTimeout(r, 2000));
    if (dbName) {
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
      await admin.end();
    }
  };
}
