// The whole billing system for a test file: the local Stripe (delivering webhooks to the app),
// the real app process and the real worker process, on the test run's database.
import { afterAll, beforeAll } from "bun:test";
import { eq } from "drizzle-orm";
import { createApiKey } from "../app/server/auth/keys.server";
import { syncPlanCatalog } from "../app/server/billing/plans.server";
import { LOCAL_WEBHOOK_SECRET } from "../app/server/billing/stripe.server";
import { STRIPE_EVENT_TYPES, STRIPE_WEBHOOK_PATH } from "../app/server/billing/webhook-events.server";
import { subscribeThroughStripe } from "../app/server/ops/sandbox.server";
import { createOrg } from "../app/server/orgs/orgs.server";
import { db, schema, sql } from "../app/server/platform/db.server";
import type { JobName } from "../app/server/platform/jobs.server";
import type { StripeEventRow } from "../db/schema";
import { type StripeLocal, type StripeLocalOptions, startStripeLocal } from "../stripe-emulator/index";
import { REPORT_BACKOFF_KEY } from "../worker/report-usage";
import { startApp, type TestApp } from "./app";
import { api, rid } from "./factories";
import { jobsIdle } from "./jobs";
import { freePort } from "./ports";
import { startWorker, type TestWorker } from "./worker";

export type BillingSystem = { app: TestApp; local: StripeLocal; worker: TestWorker; env: Record<string, string> };

/** `localOptions` reach the local Stripe (e.g. `deliveryChaos`). */
export function startBillingSystem(extraEnv: Record<string, string> = {}, localOptions: Partial<StripeLocalOptions> = {}): BillingSystem {
  // A port the OS found free (not a fixed one another run may hold): the app's base URL (Checkout
  // return pages) and Stripe's webhook URL name it, and a test restarting the app reuses it.
  const env: Record<string, string> = { PORT: String(freePort()), STRIPE_EVENT_MAX_ATTEMPTS: "2", ...extraEnv };
  let worker: TestWorker;
  // app and local are set in beforeAll, before any test reads them.
  const system = { env } as unknown as BillingSystem;
  beforeAll(async () => {
    await syncPlanCatalog();
    system.app = await startApp(env);
    system.local = await startStripeLocal({
      port: Number(process.env.STRIPE_LOCAL_PORT),
      databaseUrl: process.env.DATABASE_URL!,
      // The types the app acts on, as a real account's endpoint sends them: one missing from the list fails these tests.
      webhook: { url: `${system.app.url}${STRIPE_WEBHOOK_PATH}`, secret: LOCAL_WEBHOOK_SECRET, events: STRIPE_EVENT_TYPES },
      // Finite like Stripe's, and long enough (about 10 s) to cover an app restarted by a test.
      retrySchedule: [150, 300, 600, 1200, 2400, 4800],
      ...localOptions,
    });
    worker = await startWorker(env);
    system.worker = worker;
  });
  afterAll(async () => {
    await worker.stop();
    await system.app.stop();
    await system.local.stop();
  });
  return system;
}

/**
 * The local Stripe on this file's port, with the plans' prices, and no one listening to its
 * webhooks: for tests that drive Stripe's state themselves and need no worker.
 */
export async function startStripeWithoutWebhooks(): Promise<StripeLocal> {
  await syncPlanCatalog();
  return startStripeLocal({
    port: Number(process.env.STRIPE_LOCAL_PORT),
    databaseUrl: process.env.DATABASE_URL!,
    webhook: { url: "http://127.0.0.1:9/unused", secret: LOCAL_WEBHOOK_SECRET },
  });
}

/**
 * Resolves once the billing system has nothing more to do: every webhook the local Stripe has
 * queued is delivered, and no job of `tasks` (the webhooks' stripe_event by default) is ready or
 * running. A job may call Stripe, whose webhooks come back: it goes round until a pass finds
 * neither. Fails after `timeoutMs`.
 */
export async function billingSettled(system: BillingSystem, tasks: readonly JobName[] = ["stripe_event"], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  do {
    await system.local.flushWebhooks(left());
    await jobsIdle(tasks, left());
  } while ((await sql<{ n: number }[]>`select count(*)::int as n from stripe_local.deliveries where delivered_at is null and given_up_at is null`)[0].n > 0);
}

export async function newOrg(): Promise<string> {
  const id = `org_l${crypto.randomUUID().slice(0, 8)}`;
  await createOrg({ id, email: "owner@example.com" });
  return id;
}

/**
 * An org (a new one, or `id` created now) on starter through Stripe, with three usage records of
 * `quantity` made through the API: `recorded` is their sum.
 */
export async function orgWithUsage(system: BillingSystem, quantity: number, id?: string): Promise<{ orgId: string; key: string; recorded: number }> {
  const orgId = id ?? (await newOrg());
  if (id) await createOrg({ id, email: "owner@example.com" });
  await subscribeThroughStripe(orgId, "starter");
  const { key } = await createApiKey({ orgId, name: "t" });
  for (let i = 0; i < 3; i++) await api(system.app.url, key).record({ request_id: rid(), quantity });
  return { orgId, key, recorded: 3 * quantity };
}

/**
 * Keeps the worker's every-minute usage reporter out of a test that runs it itself: a backoff run
 * an hour away makes the minute's ticks skip (worker/report-usage.ts). Waits for a run under way.
 */
export async function holdReporterTicks(): Promise<void> {
  await sql`select graphile_worker.add_job('report_usage', '{"backoff":1}'::json, queue_name := 'report_usage',
              run_at := now() + interval '1 hour', job_key := ${REPORT_BACKOFF_KEY})`;
  await jobsIdle(["report_usage"], 20_000);
}

export async function until<T>(fn: () => Promise<T | null | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(25);
  }
}

export const mirror = async (orgId: string) =>
  (
    await sql`select plan_code, status, period_start, period_end, pending_plan_code, cancel_at_period_end, stripe_subscription_id from subscriptions where org_id = ${orgId}`
  )[0];

export const invoicesOf = (orgId: string) =>
  sql<
    { total: number; status: string; billing_reason: string }[]
  >`select total, status, billing_reason from invoices where org_id = ${orgId} order by stripe_created_at, number`;

export async function signIn(app: TestApp, orgId: string): Promise<string> {
  const r = await fetch(`${app.url}/dev/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { origin: app.url },
    body: new URLSearchParams({ email: "owner@example.com", orgId }),
  });
  return r.headers.get("set-cookie")!.split(";")[0];
}

/** Calls `/api/v1/billing/<path>` signed in as the org's owner: `{ status, body }`. */
export async function billingApi(app: TestApp, orgId: string) {
  const cookie = await signIn(app, orgId);
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(`${app.url}/api/v1/billing/${path}`, {
      method,
      headers: { cookie, origin: app.url, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any };
  };
}

/** A Stripe event stored as the intake stores it (its object as given), for processStripeEvent. */
export async function storedStripeEvent(type: string, object: Record<string, unknown>): Promise<StripeEventRow> {
  const id = `evt_t_${crypto.randomUUID().slice(0, 12)}`;
  await sql`insert into stripe_events (id, type, object_id, stripe_created_at, payload)
            values (${id}, ${type}, ${String(object.id)}, now(), ${JSON.stringify({ id, type, data: { object } })}::jsonb)`;
  const [event] = await db.select().from(schema.stripeEvents).where(eq(schema.stripeEvents.id, id));
  return event;
}
