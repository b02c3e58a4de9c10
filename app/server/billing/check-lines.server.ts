// The parts of `ops stripe:check` every section shares: what is checked (the target), the lines a
// run collects (pass, warn, fail with the exact fix), and what a Stripe error says about a key's
// permission. No SDK import: the client's type comes from the app's client.
import { type CommandTarget, stripeCommand } from "./check-commands.server";
import type { Plan } from "./plans.server";
import type { stripe } from "./stripe.server";

export type Client = typeof stripe;
export type CheckStatus = "pass" | "warn" | "fail";
export type CheckArea = "key" | "webhook" | "secret" | "portal" | "catalog";
export type CheckLine = { area: CheckArea; check: string; status: CheckStatus; detail: string; fix?: string[] };
export type Endpoint = Awaited<ReturnType<Client["webhookEndpoints"]["list"]>>["data"][number];
export type StripeCheckReport = {
  ok: boolean;
  mode: "local" | "test" | "live";
  key: string;
  passed: number;
  warnings: number;
  failures: number;
  lines: CheckLine[];
};

/** What is checked: a Stripe client and the settings the app runs with. */
export type CheckTarget = {
  client: Client;
  mode: "local" | "test" | "live";
  /** The configured key (null: the local Stripe). */
  secretKey: string | null;
  /** The local Stripe's URL, in local mode. */
  localUrl: string | null;
  /** Where Stripe must send webhooks: the app's base URL + /api/webhooks/stripe. */
  webhookUrl: string;
  /** STRIPE_WEBHOOK_SECRET as configured (null: unset). */
  webhookSecret: string | null;
  baseUrlConfigured: boolean;
  /** Whether the app puts new orgs on test clocks with this key. */
  usesTestClocks: boolean;
  plans: Plan[];
  /** The prices the catalog names per plan and interval (`stripePriceIds`); others are found by lookup key. */
  configuredPriceIds: Partial<Record<string, { month?: string; year?: string }>>;
  /** The catalog's metered features: each has its billing meter, its code the event name. */
  meteredFeatures: { code: string; unit: string }[];
  /** How long a delivery may take before an event not yet received counts as lost (default 10 minutes). */
  deliveryGraceSeconds?: number;
};

/** Collects the lines of one run. */
export class Lines {
  readonly all: CheckLine[] = [];
  constructor(readonly target: CheckTarget) {}
  pass = (area: CheckArea, check: string, detail: string) => void this.all.push({ area, check, status: "pass", detail });
  warn = (area: CheckArea, check: string, detail: string, fix?: string[]) => void this.all.push({ area, check, status: "warn", detail, fix });
  fail = (area: CheckArea, check: string, detail: string, fix: string[]) => void this.all.push({ area, check, status: "fail", detail, fix });
  /** The API version the app's client sends (and the webhook endpoint should render events as). */
  get apiVersion(): string {
    return this.target.client.getApiField("version") ?? "";
  }
  /** The exact API request for a fix, for this target's mode. */
  api = (path: string, params: Parameters<typeof stripeCommand>[1]) => `API: ${stripeCommand(path, params, this.commandTarget())}`;
  private commandTarget(): CommandTarget {
    return this.target.mode === "local" ? { mode: "local", url: this.target.localUrl ?? "http://127.0.0.1:12111" } : { mode: this.target.mode };
  }
}

type StripeErrorLike = { type?: string; statusCode?: number; code?: string; message?: string };
/** What a Stripe error says about the request's permission: `allowed` covers "no such object" and a refused parameter. */
export function errorKind(err: unknown): "allowed" | "permission" | "auth" | "unreachable" | "other" {
  const e = err as StripeErrorLike;
  if (e?.type === "StripeConnectionError") return "unreachable";
  if (e?.statusCode === 401) return "auth";
  if (e?.statusCode === 403) return "permission";
  if ((e?.statusCode === 404 && e.code === "resource_missing") || e?.statusCode === 400) return "allowed";
  return "other";
}
export const errorText = (err: unknown) => (err as StripeErrorLike)?.message ?? String(err);

export const masked = (key: string | null) => (key ? `${key.slice(0, key.indexOf("_", 3) + 1)}…${key.slice(-4)}` : "none (the local Stripe)");
