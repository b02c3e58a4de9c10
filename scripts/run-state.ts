// Where `npm start` runs its database and local Stripe. scripts/run.ts writes the state file once
// the system is ready and removes it on a clean stop; `bun run ops` reads it, so with custom ports
// (or several copies on one machine) ops reaches this copy's system, never a default port's.
// The pid tells a file left by a run that was killed from a live one. No app imports: ops reads it
// before the app's configuration exists. RUN_STATE_FILE overrides the path.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export type RunState = {
  pid: number;
  startedAt: string;
  databaseUrl: string;
  appUrl: string;
  /** The first app process's instance id (kept for older readers; see appInstanceIds). */
  appInstanceId: string;
  /** Every app process's instance id (all share appUrl's port); updated when one is restarted. */
  appInstanceIds: string[];
  /** The pid of each process the run supervises, by name (app.1, worker.1, stripe …). */
  processes: Record<string, number>;
  /** The local Stripe's port, or null when a Stripe key is configured. */
  stripeLocalPort: number | null;
  /** The local Stigg's URL, or null/absent when a Stigg key is configured. */
  stiggLocalUrl?: string | null;
};

export const runStateFile = () => process.env.RUN_STATE_FILE ?? join(import.meta.dir, "..", ".data", "run-state.json");

const WHAT_TO_SET = "Start it with `npm start`, or set DATABASE_URL (and STRIPE_LOCAL_PORT for the local Stripe) to the system you mean.";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function writeRunState(state: RunState): void {
  const file = runStateFile();
  mkdirSync(dirname(file), { recursive: true });
  // The database URL may carry a password: readable by this user only.
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the state file if this process wrote it (another run may have replaced it since). */
export function clearRunState(pid = process.pid): void {
  const found = readRunState();
  if (found?.state.pid === pid) rmSync(runStateFile(), { force: true });
}

export function readRunState(): { state: RunState; live: boolean } | null {
  let text: string;
  try {
    text = readFileSync(runStateFile(), "utf8");
  } catch {
    return null;
  }
  const state = JSON.parse(text) as RunState;
  return { state, live: alive(state.pid) };
}

/**
 * For `ops`: fills in DATABASE_URL and the local Stripe's port from a live run's state file (the
 * port also when DATABASE_URL names that run's database). Returns what to tell the operator
 * when there is nothing to connect to, or null.
 */
export function adoptRunState(env: Record<string, string | undefined>): string | null {
  const found = readRunState();
  if (env.DATABASE_URL && (!found?.live || found.state.databaseUrl !== env.DATABASE_URL)) return null;
  if (!found) return `DATABASE_URL is not set and no system started by \`npm start\` was found (no ${runStateFile()}). ${WHAT_TO_SET}`;
  if (!found.live) {
    return `DATABASE_URL is not set and ${runStateFile()} is stale: the \`npm start\` that wrote it (pid ${found.state.pid}, started ${found.state.startedAt}) is no longer running. ${WHAT_TO_SET}`;
  }
  env.DATABASE_URL = found.state.databaseUrl;
  if (!env.STRIPE_SECRET_KEY && !env.STRIPE_LOCAL_PORT && found.state.stripeLocalPort) env.STRIPE_LOCAL_PORT = String(found.state.stripeLocalPort);
  if (!env.STIGG_API_KEY && !env.STIGG_API_URL && found.state.stiggLocalUrl) env.STIGG_API_URL = found.state.stiggLocalUrl;
  return null;
}
