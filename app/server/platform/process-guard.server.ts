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
}
