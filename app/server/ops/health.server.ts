// The checks behind /api/diag/smoke and `ops` diagnostics.
import { stripeBreaker } from "../billing/stripe.server";
import type { BreakerStatus } from "../platform/breaker.server";
import { cacheBreaker, cacheStatus } from "../platform/cache.server";
import { config } from "../platform/config.server";
import { databaseBreaker, sql } from "../platform/db.server";
import { INSTANCE_ID } from "../platform/instance.server";

type Check = { name: string; status: "ok" | "fail" | "off"; required: boolean; latencyMs: number; detail?: string; breaker?: BreakerStatus };

async function timed(name: string, required: boolean, fn: () => Promise<Omit<Check, "name" | "required" | "latencyMs">>): Promise<Check> {
  const t0 = performance.now();
  try {
    const r = await Promise.race([fn(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error("timed out after 2 s")), 2000))]);
    return { name, required, latencyMs: Math.round((performance.now() - t0) * 100) / 100, ...r };
  } catch (err) {
    const detail = err instanceof Error && err.message.includes("timed out") ? err.message : "unreachable";
    return { name, required, status: "fail", latencyMs: Math.round((performance.now() - t0) * 100) / 100, detail };
  }
}

export async function runHealthChecks() {
  const checks = await Promise.all([
    timed("database", true, async () => {
      await sql`select 1`;
      return { status: "ok" };
    }),
    timed("redis", false, async () => {
      const s = await cacheStatus();
      return { status: s === "down" ? "fail" : s, detail: s === "off" ? "REDIS_URL not set" : undefined };
    }),
    timed("job_queue", true, async () => {
      const [row] = await sql<{ present: boolean }[]>`select to_regclass('graphile_worker._private_jobs') is not null as present`;
      if (!row.present) return { status: "fail", detail: "graphile-worker schema missing: start the worker once" };
      const [q] = await sql<
        { queued: number }[]
      >`select count(*)::int as queued from graphile_worker._private_jobs where locked_at is null and attempts < max_attempts`;
      return { status: "ok", detail: `${q.queued} jobs waiting` };
    }),
    timed("config", true, async () => ({
      status: "ok",
      detail: `stripe=${config.stripeMode}, auth=${config.CLERK_SECRET_KEY ? "clerk" : "dev"}, stigg=${config.STIGG_API_KEY ? "on" : config.STIGG_API_URL ? "local" : "off"}`,
    })),
  ]);
  // Each breaker's state beside its dependency's check. An open database breaker fails the check
  // even if this `select 1` got through: requests are answered 503 until the breaker's probe passes.
  const [database, redis] = checks;
  database.breaker = databaseBreaker.status();
  if (database.breaker.state === "open") Object.assign(database, { status: "fail", detail: "breaker open: API requests answered 503" });
  if (cacheBreaker) redis.breaker = cacheBreaker.status();
  if (redis.breaker?.state === "open") Object.assign(redis, { status: "fail", detail: "breaker open: cache skipped" });
  // Stripe is never called here (it is off the hot path, and a hung one would slow this check):
  // its breaker says whether billing calls are being refused. Not required: quota and usage serve.
  const stripe = stripeBreaker.status();
  checks.push({
    name: "stripe",
    required: false,
    latencyMs: 0,
    status: stripe.state === "open" ? "fail" : "ok",
    detail: stripe.state === "open" ? "breaker open: billing calls answered 503" : undefined,
    breaker: stripe,
  });
  return { ok: checks.every((c) => !c.required || c.status === "ok"), instanceId: INSTANCE_ID, checks };
}
