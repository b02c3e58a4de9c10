// The ops commands: each parses its arguments, calls one server function, and says how to
// print the result for people. The JSON shape is a contract:
// scripts parse it (cli/ops.test.ts holds it).

import { createApiKey, revokeApiKey } from "../app/server/auth/keys.server";
import { revokeSessionsOf } from "../app/server/auth/session-store.server";
import { type DriftRow, driftReport } from "../app/server/billing/meter-report.server";
import { backfillOverageItems, type OverageBackfillRow } from "../app/server/billing/overage-backfill.server";
import { listPlans, type PlanCode, planByCode, refreshCatalog, syncPlanCatalog } from "../app/server/billing/plans.server";
import { ensureCustomer, upstream } from "../app/server/billing/stripe.server";
import { checkStripeAccount } from "../app/server/billing/stripe-check.server";
import { replayStripeEvent } from "../app/server/billing/webhooks.server";
import { captureMessage, flushSentry, initSentry } from "../app/server/observe/sentry.server";
import { type SloLine, sloReport } from "../app/server/observe/slo.server";
import { backupDatabase, restoreDatabase } from "../app/server/ops/backup.server";
import { jobStats } from "../app/server/ops/jobs.server";
import { runRetention } from "../app/server/ops/retention.server";
import { advanceOrgClock, parseDuration, subscribeThroughStripe } from "../app/server/ops/sandbox.server";
import { createOrg, getOrg } from "../app/server/orgs/orgs.server";
import { closeCache } from "../app/server/platform/cache.server";
import { config } from "../app/server/platform/config.server";
import { closeDatabase } from "../app/server/platform/db.server";
import { AppError } from "../app/server/platform/errors.server";
import { quotaFor } from "../app/server/usage/engine.server";
import { catalogMigrate, catalogPush, catalogShow } from "./catalog-commands";
import { COMMAND_ARGS } from "./help";
import { stiggCheck } from "./stigg-commands";
import { stripeCheckText } from "./stripe-check-text";

type Flags = { name?: string; email?: string; apply?: boolean; database?: string; dir?: string; interval?: string; from?: string; to?: string; at?: string };
type Command<R> = {
  args: string;
  run: (args: string[], flags: Flags) => Promise<R>;
  human: (r: R) => string;
  /** What --json prints (default: the result). */
  json?: (r: R) => unknown;
  /** The exit code for a result (default 0): a check that found something to fix exits 1. */
  exitCode?: (r: R) => number;
};

const need = (args: string[], n: number, usageLine: string) => {
  if (args.length < n) throw new AppError("VALIDATION_FAILED", `usage: bun run ops ${usageLine}`);
};
const fmt = (n: number) => n.toLocaleString("en-US");

type OrgCreated = Awaited<ReturnType<typeof createOrg>> & { stripeCustomerId: string | null; stripeTestClockId: string | null };
const orgCreate: Command<OrgCreated> = {
  args: COMMAND_ARGS["org:create"],
  run: async ([orgId], f) => {
    need([orgId].filter(Boolean), 1, orgCreate.args);
    const org = await createOrg({ id: orgId, name: f.name, email: f.email });
    const stripe = await upstream(() => ensureCustomer(orgId));
    return { ...org, stripeCustomerId: stripe.customerId, stripeTestClockId: stripe.testClockId };
  },
  human: (o) => `created ${o.id} (${o.name}); Stripe customer ${o.stripeCustomerId}${o.stripeTestClockId ? ` on test clock ${o.stripeTestClockId}` : ""}`,
};

const subscribe: Command<Awaited<ReturnType<typeof subscribeThroughStripe>>> = {
  args: COMMAND_ARGS.subscribe,
  run: async ([orgId, planCode], f) => {
    need([orgId, planCode].filter(Boolean), 2, subscribe.args);
    const interval = f.interval ?? "month";
    if (interval !== "month" && interval !== "year")
      throw new AppError("VALIDATION_FAILED", `--interval is month or year, not "${interval}"; usage: bun run ops ${subscribe.args}`);
    await syncPlanCatalog();
    const plan = planByCode(planCode);
    if (plan && interval === "year" && plan.priceYearly === null)
      throw new AppError("VALIDATION_FAILED", `${plan.name} has no yearly price; subscribe it monthly (leave out --interval).`);
    if (!plan)
      throw new AppError(
        "VALIDATION_FAILED",
        `Unknown plan "${planCode}"; one of ${listPlans()
          .map((p) => p.code)
          .join(", ")}.`,
      );
    process.stderr.write(`subscribing ${orgId} to ${planCode} (${interval}ly) through Stripe (test card) and waiting for the webhooks to converge…\n`);
    return subscribeThroughStripe(orgId, planCode as PlanCode, "visa", interval);
  },
  human: (s) => `${s!.orgId}: ${s!.planCode} ${s!.interval}ly (${s!.status}) ${s!.periodStart} → ${s!.periodEnd}`,
};

const clockAdvance: Command<Awaited<ReturnType<typeof advanceOrgClock>>> = {
  args: COMMAND_ARGS["clock:advance"],
  run: async ([orgId, duration]) => {
    need([orgId, duration].filter(Boolean), 2, clockAdvance.args);
    parseDuration(duration); // a bad duration is refused before anything is announced
    process.stderr.write(`advancing ${orgId}'s test clock by ${duration} and waiting for the webhooks to converge…\n`);
    return advanceOrgClock(orgId, duration);
  },
  human: (r) =>
    `clock ${r.clockId} now at ${r.frozenTime}; ${r.events} events converged; ${r.subscription ? `${r.subscription.planCode} (${r.subscription.status}) ${r.subscription.periodStart} → ${r.subscription.periodEnd}` : "no subscription"}`,
};

const replay: Command<Awaited<ReturnType<typeof replayStripeEvent>>> = {
  args: COMMAND_ARGS.replay,
  run: async ([eventId]) => {
    need([eventId].filter(Boolean), 1, replay.args);
    return replayStripeEvent(eventId);
  },
  human: (r) => `event ${r.eventId} queued again as job ${r.jobId}`,
};

const jobs: Command<Awaited<ReturnType<typeof jobStats>>> = {
  args: COMMAND_ARGS.jobs,
  run: async () => jobStats(),
  human: (j) =>
    [
      `queue lag: ${j.lagMs} ms`,
      ...j.tasks.map((t) => `${t.task.padEnd(20)} queued ${t.queued}  running ${t.running}  retrying ${t.retrying}  failed ${t.failed}`),
      j.failed.length ? "failed jobs:" : "no failed jobs",
      ...j.failed.map((f) => `  #${f.id} ${f.task} ${f.key ?? ""} after ${f.attempts} attempts: ${f.lastError}`),
    ].join("\n"),
};

const keyCreate: Command<Awaited<ReturnType<typeof createApiKey>>> = {
  args: COMMAND_ARGS["key:create"],
  run: async ([orgId], f) => {
    need([orgId].filter(Boolean), 1, keyCreate.args);
    return createApiKey({ orgId, name: f.name ?? "ops" });
  },
  human: (k) => `key ${k.id} created; it is shown only now:\n${k.key}`,
};

const keyRevoke: Command<Awaited<ReturnType<typeof revokeApiKey>>> = {
  args: COMMAND_ARGS["key:revoke"],
  run: async ([keyId]) => {
    need([keyId].filter(Boolean), 1, keyRevoke.args);
    return revokeApiKey({ keyId });
  },
  human: (k) => `revoked ${k.id} at ${k.revokedAt}`,
};

const usageCmd: Command<Awaited<ReturnType<typeof quotaFor>>> = {
  args: COMMAND_ARGS.usage,
  run: async ([orgId]) => {
    need([orgId].filter(Boolean), 1, usageCmd.args);
    // An org that does not exist is NOT_FOUND, not "an org without a subscription".
    await getOrg(orgId);
    return quotaFor(orgId, "api_call");
  },
  human: (q) =>
    `${q.planCode} (${q.status}) period ${q.periodKey}: ${fmt(q.used)} of ${fmt(q.included)} used, ${fmt(q.remaining)} left, ends ${q.periodEnd}\n` +
    `credits: ${fmt(q.credits.remaining)} left (${fmt(q.credits.usedThisPeriod)} spent this period); overage: ${
      q.overage ? `${fmt(q.overage.unitsSoFar)} units so far, charge ${fmt(q.overage.chargeCents)} cents` : "none (a hard stop)"
    }`,
};

const driftText = (r: DriftRow) =>
  r.status === "settling"
    ? "not yet (Stripe may still be counting the last report)"
    : r.status === "displaced"
      ? "n/a (usage reported outside its period: test clock ahead of real time)"
      : r.drift === null
        ? "n/a (nothing reported)"
        : `${(r.drift * 100).toFixed(2)}%`;

const pctOrNa = (d: number | null) => (d === null ? "n/a" : `${(d * 100).toFixed(2)}%`);

const drift: Command<Awaited<ReturnType<typeof driftReport>>> = {
  args: COMMAND_ARGS.drift,
  run: async ([periodKey]) => {
    // A period key is a calendar month; anything else would match no counter and report nothing.
    if (periodKey !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(periodKey))
      throw new AppError("VALIDATION_FAILED", `"${periodKey}" is not a month: use YYYY-MM (e.g. 2026-03).`);
    return driftReport(periodKey);
  },
  human: (d) =>
    [
      `${"org".padEnd(24)} ${"feature".padEnd(10)} ${"period".padEnd(8)} ${"recorded".padStart(12)} ${"reported".padStart(12)} drift`,
      ...d.rows.map(
        (r) =>
          `${r.orgId.padEnd(24)} ${r.metric.padEnd(10)} ${r.periodKey.padEnd(8)} ${fmt(r.recorded).padStart(12)} ${fmt(r.reported).padStart(12)} ${driftText(r)}`,
      ),
      ...Object.entries(d.maxDriftByFeature).map(([f, m]) => `max drift of ${f}: ${pctOrNa(m)}`),
      `max drift: ${pctOrNa(d.maxDrift)}`,
    ].join("\n"),
};

const sessionsRevoke: Command<Awaited<ReturnType<typeof revokeSessionsOf>>> = {
  args: COMMAND_ARGS["sessions:revoke"],
  run: async ([email]) => {
    need([email].filter(Boolean), 1, sessionsRevoke.args);
    return revokeSessionsOf({ email });
  },
  human: (r) => `${r.email}: ${r.revoked} session${r.revoked === 1 ? "" : "s"} ended${r.note ? `\n${r.note}` : ""}`,
};

const showSlo = (s: SloLine) => (s.value === null ? "no data" : s.unit === "ratio" ? `${(s.value * 100).toFixed(2)}%` : `${(s.value * 1000).toFixed(1)} ms`);
const slo: Command<Awaited<ReturnType<typeof sloReport>>> = {
  args: COMMAND_ARGS.slo,
  run: async () => sloReport(),
  human: (r) =>
    [
      `SLOs at ${r.at}: ${r.ok ? "all within target" : "BREACHED"}`,
      ...r.slos.map(
        (s) =>
          `${s.ok ? "ok  " : "FAIL"} ${`${s.slo} (${s.window})`.padEnd(22)} ${showSlo(s).padStart(10)}  target ≤ ${showSlo({ ...s, value: s.target })}  (${s.samples} samples)`,
      ),
    ].join("\n"),
};

const sentryTest: Command<{ eventId: string }> = {
  args: COMMAND_ARGS["sentry:test"],
  run: async () => {
    if (!(await initSentry("ops"))) throw new AppError("VALIDATION_FAILED", "SENTRY_DSN is not set: nothing to send the test event to.");
    const eventId = captureMessage("Sentry test event from bun run ops sentry:test", {}, "info");
    await flushSentry(5000);
    if (!eventId) throw new AppError("INTERNAL", "Sentry did not accept the event.");
    return { eventId };
  },
  human: (r) => `sent test event ${r.eventId}`,
};

const stripeCheck: Command<Awaited<ReturnType<typeof checkStripeAccount>>> = {
  args: COMMAND_ARGS["stripe:check"],
  run: async () => {
    // What the app runs on: the published catalog, or the one PLANS_CONFIG declares for the next start.
    if (!config.plansConfigSet) await refreshCatalog();
    return checkStripeAccount();
  },
  human: (r) => stripeCheckText(r, process.stdout.isTTY && !process.env.NO_COLOR),
  exitCode: (r) => (r.ok ? 0 : 1),
};

const retention: Command<Awaited<ReturnType<typeof runRetention>>> = {
  args: COMMAND_ARGS.retention,
  run: async (_args, f) => {
    // Counting first is the default: deleting is what --apply (or the hourly job) does.
    if (f.apply) process.stderr.write("deleting rows past their retention period, in batches…\n");
    return runRetention({ apply: Boolean(f.apply) });
  },
  human: (r) =>
    [
      r.applied
        ? `deleted in ${r.ms} ms${r.complete ? "" : " (time budget spent: run it again to go on)"}:`
        : "rows past their period (a dry run: --apply deletes them):",
      ...r.tables.map((t) => `${t.table.padEnd(40)} ${fmt(t.rows).padStart(10)}  kept ${t.keptFor}`),
      "the audit log is never deleted (append-only, kept 10 years): docs/operations.md",
    ].join("\n"),
};

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

const backup: Command<Awaited<ReturnType<typeof backupDatabase>>> = {
  args: COMMAND_ARGS.backup,
  run: async ([file]) => backupDatabase(file, (tool) => process.stderr.write(`backing up with ${tool}; the system keeps serving…\n`)),
  human: (b) =>
    `backed up ${b.kind === "dump" ? b.database : `the cluster holding ${b.database}`} (PostgreSQL ${b.serverVersion}) to ${b.file}: ` +
    `${mib(b.bytes)} in ${(b.tookMs / 1000).toFixed(1)} s with ${b.tool}`,
};

const restore: Command<Awaited<ReturnType<typeof restoreDatabase>>> = {
  args: COMMAND_ARGS.restore,
  run: async ([file], f) => {
    need([file].filter(Boolean), 1, restore.args);
    return restoreDatabase(file, { database: f.database, dir: f.dir }, (target) => process.stderr.write(`restoring ${file} into ${target}…\n`));
  },
  human: (r) =>
    r.kind === "dump"
      ? `restored into the new database ${r.database} on ${r.server} in ${(r.tookMs / 1000).toFixed(1)} s with ${r.tool}. ` +
        `Point DATABASE_URL at it and run \`bun run db:migrate\` before starting the app (docs/operations.md, "Restore from backup").`
      : `restored the cluster (databases: ${r.databases.join(", ")}) into ${r.dir} in ${(r.tookMs / 1000).toFixed(1)} s. ` +
        `Run it with EMBEDDED_PG_DIR=${r.dir} npm start (docs/operations.md, "Restore from backup").`,
};

const overageBackfill: Command<OverageBackfillRow[]> = {
  args: COMMAND_ARGS["overage:backfill"],
  run: async (_args, f) => backfillOverageItems({ apply: Boolean(f.apply) }),
  human: (rows) => {
    const lacking = rows.filter((r) => r.outcome === "missing" || r.outcome === "added");
    const head =
      lacking.length === 0
        ? `every live monthly subscription to a plan with overage carries its overage items (${rows.length} checked)`
        : `${lacking.length} of ${rows.length} subscriptions lacked overage items${rows.some((r) => r.outcome === "missing") ? " (a dry run: --apply adds them)" : ""}:`;
    return [
      head,
      ...lacking.map((r) => `  ${r.orgId} ${r.subscriptionId} (${r.planCode}): ${r.missing.join(", ")} ${r.outcome === "added" ? "added" : "missing"}`),
    ].join("\n");
  },
};

export const commands: Record<string, Command<unknown>> = {
  "org:create": orgCreate,
  subscribe,
  "key:create": keyCreate,
  "key:revoke": keyRevoke,
  usage: usageCmd,
  "clock:advance": clockAdvance,
  replay,
  jobs,
  drift,
  "sessions:revoke": sessionsRevoke,
  slo,
  "sentry:test": sentryTest,
  "stripe:check": stripeCheck,
  "stigg:check": stiggCheck,
  retention,
  backup,
  restore,
  "catalog:push": catalogPush,
  "catalog:show": catalogShow,
  "catalog:migrate": catalogMigrate,
  "overage:backfill": overageBackfill,
} as Record<string, Command<unknown>>;

export async function closeAll() {
  await closeCache();
  await closeDatabase(2);
}
