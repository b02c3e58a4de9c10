// The one place that reads the environment. Validated once at start; a bad variable stops the
// process with a message naming it. Everything else imports `config`.
import { readFileSync } from "node:fs";
import { availableParallelism, hostname, networkInterfaces } from "node:os";
import { resolve as resolvePath } from "node:path";
import { z } from "zod";
import defaultCatalogFile from "../../../catalog/default.json";
import { type Catalog, CatalogInvalid, contentOf, parseCatalog, parseCatalogText } from "../domain/catalog.server";
import { LOCAL_WEBHOOK_SECRET } from "./local-stripe";

/** The shipped default catalog (catalog/default.json): the seed's four plans and the issue's features. */
export const DEFAULT_CATALOG: Catalog = contentOf(parseCatalog(defaultCatalogFile));

/**
 * PLANS_CONFIG: inline JSON (starts with `{`) or the path of a catalog file; either in the catalog
 * file's shape or today's `{ code: { name, priceMonthly, … } }` shape (converted). Errors name
 * their path inside the catalog.
 */
function readPlansConfig(raw: string, ctx: z.RefinementCtx): Catalog {
  let text = raw;
  if (!raw.trimStart().startsWith("{")) {
    try {
      text = readFileSync(resolvePath(raw), "utf8");
    } catch (err) {
      ctx.addIssue({ code: "custom", message: `is neither inline JSON nor a readable catalog file (${(err as NodeJS.ErrnoException).code ?? "unreadable"})` });
      return z.NEVER;
    }
  }
  try {
    return contentOf(parseCatalogText(text));
  } catch (err) {
    if (err instanceof SyntaxError) {
      ctx.addIssue({ code: "custom", message: text === raw ? "is not valid JSON" : `${raw} is not valid JSON` });
      return z.NEVER;
    }
    if (!(err instanceof CatalogInvalid)) throw err;
    for (const issue of err.issues) ctx.addIssue({ code: "custom", message: `${issue.path || "(catalog)"}: ${issue.message}` });
    return z.NEVER;
  }
}

const csv = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean),
);

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000), // 0: any free port (tests)
  APP_BASE_URL: z.string().url().optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(6),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// URL")
    .optional(),
  REDIS_PREFIX: z.string().default("msp:"),
  // Circuit breakers (docs/operations.md): how often an open breaker probes its dependency, and
  // how many consecutive Redis failures open Redis's (one Postgres connection failure opens its).
  DATABASE_BREAKER_PROBE_MS: z.coerce.number().int().min(50).max(10_000).default(250),
  // Postgres session timeouts (docs/operations.md, "Timeouts"); 0 = no limit. The hot path's
  // budget is Postgres's statement_timeout on its own pool, and the app stops waiting 250 ms after
  // it (a stalled Postgres cannot time itself out). The other paths: the app's other pool and the
  // worker's. Migrations and the ops CLI run without them.
  DATABASE_HOT_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  DATABASE_LOCK_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(5000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  REDIS_BREAKER_FAILURES: z.coerce.number().int().min(1).max(100).default(3),
  REDIS_BREAKER_PROBE_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  PLANS_CONFIG: z
    .string()
    .optional()
    .transform((raw, ctx) => (raw ? readPlansConfig(raw, ctx) : DEFAULT_CATALOG)),
  PAST_DUE_GRACE_DAYS: z.coerce.number().int().min(0).max(60).default(7),
  KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(5000).default(2000),
  // How many usage batches one process runs at once (each is one statement on its own connection).
  USAGE_BATCH_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(2),
  // Processes `npm start` and `bun run serve` run: app processes share PORT (SO_REUSEPORT; the
  // kernel spreads connections over them), workers share the job queue. Unset: defaultAppProcesses.
  APP_PROCESSES: z.coerce.number().int().min(1).max(64).optional(),
  WORKER_PROCESSES: z.coerce.number().int().min(0).max(16).default(1),
  // How long a stopping app process may take to finish its in-flight requests before it closes
  // the connections still open.
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SESSION_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  ADMIN_EMAILS: csv.default([]),
  STRIPE_SECRET_KEY: z
    .string()
    .regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]+$/, "must look like sk_test_… or sk_live_…")
    .optional(),
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]+$/, "must look like whsec_…")
    .optional(),
  // Attempts of a webhook's convergence job before it stays failed (the dead-letter queue).
  STRIPE_EVENT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(25).default(8),
  // How long a webhook's convergence job waits before it runs, so the events of one customer that
  // arrive together (a storm, a renewal's five events) converge in one job (converge-events.server.ts).
  STRIPE_EVENT_GATHER_MS: z.coerce.number().int().min(0).max(5000).default(250),
  // The same wait during a storm (STRIPE_EVENT_STORM_RATE events a second or more into one app
  // process): the intake keeps the CPU, and each customer's storm converges in about one job.
  STRIPE_EVENT_STORM_GATHER_MS: z.coerce.number().int().min(0).max(10_000).default(2000),
  STRIPE_EVENT_STORM_RATE: z.coerce.number().int().min(1).default(200),
  // How long Stripe may take to count a meter event in its totals: drift does not judge a period
  // reported to more recently than this (Stripe aggregates meter events asynchronously).
  STRIPE_METER_LAG_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  STRIPE_LOCAL_PORT: z.coerce.number().int().min(1).max(65535).default(12111),
  // A hung Stripe (docs/operations.md, "Circuit breakers"): a person's billing request gets all of
  // its Stripe calls, the SDK's retries included, within STRIPE_REQUEST_DEADLINE_MS; a call from the
  // worker or the CLI waits STRIPE_TIMEOUT_MS per attempt (the SDK retries it once locally, twice
  // against Stripe). STRIPE_BREAKER_FAILURES consecutive timeouts, connection errors or 5xx open
  // Stripe's breaker; it probes every STRIPE_BREAKER_PROBE_MS.
  STRIPE_REQUEST_DEADLINE_MS: z.coerce.number().int().min(500).max(30_000).default(5000),
  STRIPE_TIMEOUT_MS: z.coerce.number().int().min(500).max(80_000).default(10_000),
  STRIPE_BREAKER_FAILURES: z.coerce.number().int().min(1).max(100).default(3),
  STRIPE_BREAKER_PROBE_MS: z.coerce.number().int().min(50).max(60_000).default(5000),
  // Each org's Stripe customer on its own test clock (ops clock:advance moves its time). Unset: on
  // for the local Stripe, off with a key; a live key refuses "on" (test clocks are test mode's).
  STRIPE_TEST_CLOCKS: z.enum(["on", "off"]).optional(),
  STIGG_API_KEY: z.string().min(1).optional(),
  // A Stigg at this URL instead of Stigg's own (the local one `npm start` runs when STIGG_API_KEY is
  // unset): realtime, edge and remote config off; the key defaults to the local Stigg's.
  STIGG_API_URL: z.string().url().optional(),
  STIGG_LOCAL_PORT: z.coerce.number().int().min(1).max(65535).default(12112),
  CLERK_PUBLISHABLE_KEY: z
    .string()
    .regex(/^pk_(test|live)_[A-Za-z0-9+/=$-]+$/, "must look like pk_test_…")
    .optional(),
  CLERK_SECRET_KEY: z
    .string()
    .regex(/^sk_(test|live)_[A-Za-z0-9]+$/, "must look like sk_test_…")
    .optional(),
  CLERK_JWT_KEY: z.string().includes("BEGIN PUBLIC KEY", { message: "must be the PEM public key of the Clerk instance" }).optional(),
  // Where people sign in with Clerk (the Account Portal's sign-in page of the instance).
  CLERK_SIGN_IN_URL: z.string().url().optional(),
  // Signing secret of the Clerk webhook endpoint (/api/webhooks/clerk), from Clerk's dashboard.
  CLERK_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]+$/, "must look like whsec_…")
    .optional(),
  SENTRY_DSN: z.string().url().optional(),
  // Notification emails: smtp(s)://user:pass@host:port. Unset: they stay in the local outbox (/admin).
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, "must be an smtp:// or smtps:// URL")
    .optional(),
  MAIL_FROM: z.string().default("Metered <billing@metered.local>"),
  SENTRY_ENVIRONMENT: z.string().min(1).optional(), // default: NODE_ENV
  SENTRY_RELEASE: z
    .string()
    .min(1)
    .default(`metered@${process.env.npm_package_version ?? "dev"}`),
  // Share of Bun.serve requests traced as Sentry transactions (0 = no tracing).
  SENTRY_TRACES_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0),
  // Prometheus metrics and SLO buckets; "off" removes every observation from the hot path.
  METRICS: z.enum(["on", "off"]).default("on"),
  // When set, GET /metrics (app and worker) needs Authorization: Bearer <METRICS_TOKEN>.
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  // The worker's own /metrics port (unset: the worker serves no metrics).
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // Share (0–1) of hot-route requests (quota, usage, entitlements) written to the access log; others: all.
  ACCESS_LOG_SAMPLE: z.coerce.number().min(0).max(1).default(0),
  // Retention (docs/operations.md, "Retention"): how long rows nothing needs any more are kept
  // before the worker's hourly `retention` job deletes them. The minimums keep every row for as
  // long as anything can still act on it (Stripe's retries, the outbound retry schedule).
  RETENTION_STRIPE_EVENTS_DAYS: z.coerce.number().int().min(7).max(3650).default(90),
  RETENTION_EVENTS_DAYS: z.coerce.number().int().min(7).max(3650).default(90),
  RETENTION_WEBHOOK_DELIVERIES_DAYS: z.coerce.number().int().min(4).max(3650).default(30),
  RETENTION_EMAILS_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  RETENTION_USAGE_HOURLY_MONTHS: z.coerce.number().int().min(2).max(120).default(13),
  // Rows deleted per statement (each batch is one short transaction).
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
});

export type Config = Omit<z.infer<typeof envSchema>, "APP_PROCESSES"> & {
  APP_PROCESSES: number;
  /** Whether PLANS_CONFIG was set (the deployment declares its catalog) or the shipped default is used. */
  plansConfigSet: boolean;
  baseUrl: string;
  stripeMode: "local" | "test" | "live";
  /** New Stripe customers are put on test clocks (STRIPE_TEST_CLOCKS; by default only on the local Stripe). */
  testClocks: boolean;
  keyPrefix: "mk_live_" | "mk_test_";
};

type Parsed = z.infer<typeof envSchema>;

/** Rules across variables, reported like the schema's own: the variable, what is wrong. */
const CROSS_CHECKS: [string, (c: Parsed) => boolean, string][] = [
  ["CLERK_SECRET_KEY", (c) => c.NODE_ENV === "production" && !c.CLERK_SECRET_KEY, "required in production (the local dev sign-in never runs in production)"],
  ["STRIPE_SECRET_KEY", (c) => c.NODE_ENV === "production" && !c.STRIPE_SECRET_KEY, "required in production (the local Stripe never runs in production)"],
  // /metrics is served on the app's own (public) port.
  [
    "METRICS_TOKEN",
    (c) => c.NODE_ENV === "production" && c.METRICS === "on" && !c.METRICS_TOKEN,
    "required in production while METRICS=on (GET /metrics is on the public port); or set METRICS=off",
  ],
  // The local Stripe's signing secret is in this repository: anyone could sign events with it.
  [
    "STRIPE_WEBHOOK_SECRET",
    (c) => Boolean(c.STRIPE_SECRET_KEY) && (!c.STRIPE_WEBHOOK_SECRET || c.STRIPE_WEBHOOK_SECRET === LOCAL_WEBHOOK_SECRET),
    "required with STRIPE_SECRET_KEY (the signing secret of your Stripe webhook endpoint, whsec_…), and not the local Stripe's",
  ],
  [
    "STRIPE_TEST_CLOCKS",
    (c) => c.STRIPE_TEST_CLOCKS === "on" && Boolean(c.STRIPE_SECRET_KEY?.includes("_live_")),
    "cannot be on with a live key (test clocks exist in test mode only); unset it or set it to off",
  ],
  // An event outliving what refers to it: a replayed Stripe event must still find the events it
  // emitted (their dedupe keys), and an event goes only after its deliveries.
  [
    "RETENTION_EVENTS_DAYS",
    (c) => c.RETENTION_EVENTS_DAYS < Math.max(c.RETENTION_STRIPE_EVENTS_DAYS, c.RETENTION_WEBHOOK_DELIVERIES_DAYS),
    "must be at least RETENTION_STRIPE_EVENTS_DAYS and RETENTION_WEBHOOK_DELIVERIES_DAYS (a replayed Stripe event must not emit its events again)",
  ],
];

/**
 * The app processes to run when APP_PROCESSES is unset. With Postgres on another machine, one per
 * core (Bun runs JavaScript on one core). With Postgres on this machine, a third of the cores, at
 * least one: the app processes and Postgres share the cores, and an admission costs Postgres about
 * twice the CPU it costs the app, so each app process running flat out needs about two cores of
 * Postgres beside it. Measured on 2 cores (Postgres and the load generator on the same box): one
 * app process admitted ~10,600/s for one hot org, two (one per core) 6,400–7,400/s, with a higher
 * p99. Postgres counts as on this machine when its host is a loopback name or address, a Unix
 * socket, this machine's name or one of its own addresses.
 */
export function defaultAppProcesses(databaseUrl: string, cores: number, ownAddresses: ReadonlySet<string> = machineAddresses()): number {
  return postgresIsLocal(databaseUrl, ownAddresses) ? Math.max(1, Math.floor(cores / 3)) : Math.max(1, cores);
}

function postgresIsLocal(databaseUrl: string, ownAddresses: ReadonlySet<string>): boolean {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return true; // unparsable here: assume the cautious case
  }
  // postgres://user@/db?host=/run/postgresql (a socket), or no host at all: this machine.
  const socket = url.searchParams.get("host");
  if (socket?.startsWith("/")) return true;
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "" || host === "localhost" || host.endsWith(".localhost") || /^127\./.test(host) || host === "::1" || ownAddresses.has(host);
}

/** This machine's name and the addresses of its interfaces. */
function machineAddresses(): Set<string> {
  const own = new Set([hostname().toLowerCase()]);
  for (const addresses of Object.values(networkInterfaces())) for (const a of addresses ?? []) own.add(a.address.toLowerCase());
  return own;
}

const invalid = (problems: [string, string][]) =>
  new Error(`Invalid configuration:\n${problems.map(([key, message]) => `  ${key}: ${message}`).join("\n")}\nSee .env.example for every variable.`);

export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings count as unset, as in most .env files.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) throw invalid(parsed.error.issues.map((i) => [i.path.join(".") || "(env)", i.message]));
  const c = parsed.data;
  const broken = CROSS_CHECKS.filter(([, isBroken]) => isBroken(c)).map(([key, , message]): [string, string] => [key, message]);
  if (broken.length > 0) throw invalid(broken);
  const stripeMode = !c.STRIPE_SECRET_KEY ? "local" : c.STRIPE_SECRET_KEY.includes("_live_") ? "live" : "test";
  return {
    ...c,
    APP_PROCESSES: c.APP_PROCESSES ?? defaultAppProcesses(c.DATABASE_URL, availableParallelism()),
    plansConfigSet: cleaned.PLANS_CONFIG !== undefined,
    baseUrl: c.APP_BASE_URL ?? `http://${c.HOST}:${c.PORT}`,
    stripeMode,
    testClocks: c.STRIPE_TEST_CLOCKS ? c.STRIPE_TEST_CLOCKS === "on" : stripeMode === "local",
    keyPrefix: stripeMode === "live" ? "mk_live_" : "mk_test_",
  };
}

function fromProcess(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}

export const config: Config = fromProcess();

/** Clerk's browser settings (publishable key, frontend API host), or null without Clerk. */
export function clerkBrowserConfig(): { publishableKey: string; frontendApi: string } | null {
  const key = config.CLERK_PUBLISHABLE_KEY;
  if (!key || !config.CLERK_SECRET_KEY) return null;
  // pk_test_<base64("<frontend api host>$")>
  const frontendApi = Buffer.from(key.split("_").slice(2).join("_"), "base64").toString("utf8").replace(/\$$/, "");
  return { publishableKey: key, frontendApi };
}
