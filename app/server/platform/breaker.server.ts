// A circuit breaker for a dependency that can go away: after `failuresToOpen` consecutive
// failures it opens, and callers skip the dependency at once (no waiting on timeouts) while a
// background probe checks it every `probeEveryMs`; the first probe that succeeds closes it.
// One warn line when it opens and one info line when it closes; nothing per request.
import { log } from "./log.server";

export type BreakerStatus = { state: "closed" | "open"; openSince: string | null; refused: number; lastProbeError: string | null };

export type Breaker = {
  readonly name: string;
  isOpen: () => boolean;
  /** A call went through: the consecutive-failure count starts again. */
  succeeded: () => void;
  /** A call failed the way an outage fails (refused, reset, timed out); `err` says how, in the log. */
  failed: (err?: unknown) => void;
  /** A call was not made because the breaker is open (counted for the close log line). */
  refused: () => void;
  status: () => BreakerStatus;
};

export function createBreaker(opts: {
  name: string;
  failuresToOpen: number;
  probeEveryMs: number;
  probeTimeoutMs: number;
  probe: () => Promise<unknown>;
  /** What callers do while it is open, for the operator reading the log. */
  whileOpen: string;
}): Breaker {
  let failures = 0;
  let openedAt: number | null = null;
  let refused = 0;
  let probes = 0;
  let lastProbeError: string | null = null;

  function open(err: unknown): void {
    openedAt = Date.now();
    refused = 0;
    probes = 0;
    log.warn({ breaker: opts.name, failures, reason: reasonOf(err) }, `${opts.name} breaker open: ${opts.whileOpen} until a probe succeeds`);
    schedule(0);
  }

  function close(): void {
    const downMs = Date.now() - (openedAt ?? Date.now());
    log.info({ breaker: opts.name, downMs, refused, probes }, `${opts.name} breaker closed: ${opts.name} answers again`);
    openedAt = null;
    failures = 0;
    refused = 0;
    lastProbeError = null;
  }

  function schedule(delayMs: number): void {
    setTimeout(probeOnce, delayMs).unref?.();
  }

  // A probe that timed out may still be waiting on a hung dependency: no second one is started
  // beside it, so probes never pile up.
  let probeInFlight = false;

  async function probeOnce(): Promise<void> {
    if (probeInFlight) return schedule(opts.probeEveryMs);
    probes++;
    probeInFlight = true;
    const attempt = opts.probe().finally(() => {
      probeInFlight = false;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        attempt,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("probe timed out")), opts.probeTimeoutMs);
        }),
      ]);
      close();
    } catch (err) {
      // Still down: the open line said so once; the status shows the latest reason.
      lastProbeError = reasonOf(err);
      schedule(opts.probeEveryMs);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    name: opts.name,
    isOpen: () => openedAt !== null,
    succeeded: () => {
      if (openedAt === null) failures = 0;
    },
    failed: (err) => {
      failures++;
      if (openedAt === null && failures >= opts.failuresToOpen) open(err);
    },
    refused: () => {
      refused++;
    },
    status: () => ({
      state: openedAt === null ? "closed" : "open",
      openSince: openedAt === null ? null : new Date(openedAt).toISOString(),
      refused,
      lastProbeError,
    }),
  };
}

// An error code (ECONNREFUSED, 57P03, CONNECT_TIMEOUT) says enough and carries no data; it may
// sit on the driver's error wrapped as `cause` (whose own message quotes the query's parameters).
function reasonOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  if (typeof e?.code === "string") return e.code;
  if (e?.cause !== undefined && e.cause !== err) return reasonOf(e.cause);
  return typeof e?.message === "string" ? e.message.slice(0, 80) : "unknown";
}
