// The last line of defence of a long-running process (the app, the worker): an error that nothing
// handled is logged once, structured, and the process keeps running. No request, job or stray
// promise may end the process; only a signal does (each process's own shutdown).
import { log } from "./log.server";

/** Installs the handlers; `expected()` true (e.g. while stopping) logs at debug instead. */
export function guardProcess(expected: () => boolean = () => false): void {
  const report = (kind: string) => (err: unknown) => {
    if (expected()) log.debug({ err, kind }, "error while stopping");
    else log.error({ err, kind }, "unhandled error; the process keeps running");
  };
  process.on("unhandledRejection", report("unhandledRejection"));
  process.on("uncaughtException", report("uncaughtException"));
  stopWhenOrphaned();
}

/**
 * A child of `npm start` runs in a session of its own (a terminal's Ctrl-C reaches only the
 * supervisor, which stops the children in order), so were the supervisor killed outright (kill -9,
 * a crash) nothing would stop it: it watches its parent, and once that is gone it stops itself the
 * way a deploy stops it (SIGTERM: a graceful stop). SUPERVISOR_PID is set by scripts/supervisor.ts.
 */
function stopWhenOrphaned(): void {
  const supervisor = Number(process.env.SUPERVISOR_PID);
  if (!supervisor) return;
  const watch = setInterval(() => {
    if (process.ppid === supervisor) return;
    clearInterval(watch);
    log.warn({ supervisor }, "the supervising process is gone; stopping");
    process.kill(process.pid, "SIGTERM");
  }, 1000);
  watch.unref();
}
