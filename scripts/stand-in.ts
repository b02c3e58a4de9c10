// What a local stand-in's own process (the local Stripe, the local Stigg: `bun <emulator>/main.ts`)
// shares: its DATABASE_URL, its log lines (JSON, as the app's), and how it stops. A signal stops
// it; started by `npm start` (scripts/supervisor.ts) it runs in a session of its own, so once the
// supervisor is gone (kill -9, a crash) nothing else would stop it: it watches its parent and
// stops itself (the app and the worker do the same in platform/process-guard.server.ts).

/** DATABASE_URL, or the process exits saying it is missing. */
export function databaseUrlOrExit(): string {
  const url = process.env.DATABASE_URL;
  if (url) return url;
  console.error("DATABASE_URL is not set");
  process.exit(1);
}

/** One info line as the app logs it. */
export const logLine = (line: string) => console.log(JSON.stringify({ level: "info", time: new Date().toISOString(), msg: line }));

/** Stops the stand-in (`stop`, then exit 0) on SIGINT, SIGTERM, or once its supervisor is gone. */
export function stopWhenAsked(stop: () => Promise<void>): void {
  const end = async () => {
    await stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void end());
  process.on("SIGTERM", () => void end());
  const supervisor = Number(process.env.SUPERVISOR_PID);
  if (supervisor) {
    setInterval(() => {
      if (process.ppid !== supervisor) void end();
    }, 1000).unref();
  }
}
