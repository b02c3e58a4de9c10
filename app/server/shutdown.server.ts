// A graceful stop of an app process (SIGTERM from the supervisor, a deploy, Ctrl-C): stop
// accepting connections (the other processes on the port take the new ones), let the requests
// in flight finish, answer every queued usage and webhook batch, write the pending key last-used
// times, then close Redis and Postgres. Nothing acknowledged is lost, and nothing admitted goes
// unanswered.
import type { Server } from "bun";
import { flushKeyUsage } from "./auth/keys.server";
import { drainStripeIntake } from "./billing/webhooks.server";
import { flushObservations } from "./observe/slo.server";
import { closeCache } from "./platform/cache.server";
import { config } from "./platform/config.server";
import { closeDatabase } from "./platform/db.server";
import { log } from "./platform/log.server";
import { drainUsage } from "./usage/engine.server";

export async function stopGracefully(server: Server<unknown>, signal: string): Promise<void> {
  log.info({ signal }, "app stopping");
  // stop() closes the listening socket at once (new connections go to the other processes on the
  // port) and idle keep-alive connections, and resolves when the requests in flight have been
  // answered. After the grace period the requests still open are cut off.
  const answered = await Promise.race([server.stop().then(() => true), Bun.sleep(config.SHUTDOWN_GRACE_MS).then(() => false)]);
  if (!answered) {
    log.warn({ pending: server.pendingRequests, graceMs: config.SHUTDOWN_GRACE_MS }, "requests still open after the grace period; closing them");
    await server.stop(true);
  }
  await drainUsage();
  await drainStripeIntake();
  try {
    await flushKeyUsage();
  } catch (err) {
    log.warn({ err }, "could not record key last-used times while stopping");
  }
  // The SLO buckets of this process's last seconds (metrics), before the pool closes.
  await flushObservations().catch((err) => log.warn({ err }, "could not write the last SLO buckets while stopping"));
  await closeCache();
  await closeDatabase(5);
  log.info({ signal }, "app stopped");
}
