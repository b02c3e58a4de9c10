// The one module that talks to Stigg. Stigg mirrors what the database has (sync order Stripe →
// DB → Stigg) and answers non-money questions; it is never on the hot path (quota checks and
// usage records read the database only) and never the source of an amount: Stripe's are the only
// money. Off unless STIGG_API_KEY (Stigg itself) or STIGG_API_URL (the local Stigg, which
// `npm start` runs when the key is unset) is set.
//
// One SDK instance per process (`Stigg.initialize` a second time returns the first and ignores
// new options). Against STIGG_API_URL: realtime (a WebSocket), edge (port 3060 for a localhost
// URI) and remote config off. Against Stigg itself: remote config on (the key is checked at
// start), realtime and edge off, chosen in docs/going-live.md.
import Stigg from "@stigg/node-server-sdk";
import type { DocumentNode } from "graphql";
import { print } from "graphql";
import { config } from "../platform/config.server";
import { LOCAL_STIGG_API_KEY } from "../platform/local-stigg";
import { log } from "../platform/log.server";
import * as documents from "./management-documents.server";

type Target = { url: string | null; apiKey: string };
type Client = { stigg: Stigg; target: Target };

let client: Client | null = null;
let resolved = false;

function targetFromConfig(): Target | null {
  if (config.STIGG_API_URL) return { url: config.STIGG_API_URL.replace(/\/$/, ""), apiKey: config.STIGG_API_KEY ?? LOCAL_STIGG_API_KEY };
  if (config.STIGG_API_KEY) return { url: null, apiKey: config.STIGG_API_KEY };
  return null;
}

/** The SDK's options for a target: the local Stigg's, or Stigg's own (docs/going-live.md). */
export function sdkOptions(target: Target): Parameters<typeof Stigg.initialize>[0] {
  const local = target.url !== null;
  return {
    apiKey: target.apiKey,
    ...(local ? { baseUri: target.url as string } : {}),
    realtimeUpdatesEnabled: false,
    enableEdge: false,
    enableRemoteConfig: !local,
    // Under Bun the SDK needs an explicit cache size ("maxSize must be a positive integer").
    memoryCacheMaxSizeBytes: 16 * 1024 * 1024,
    timeout: STIGG_TIMEOUT_MS,
    logConfiguration: {
      logLevel: "ERROR" as never,
      logger: {
        log: () => {},
        debug: () => {},
        error: (message: string) => log.warn({ stigg: message.slice(0, 300) }, "stigg sdk"),
      },
    },
  };
}

/** Per attempt; the SDK retries a refused connection or a 503 up to 5 times (0.5–2 s apart). */
export const STIGG_TIMEOUT_MS = 10_000;

function connect(target: Target): Client {
  return { stigg: Stigg.initialize(sdkOptions(target)), target };
}

function current(): Client | null {
  if (!resolved) {
    resolved = true;
    const target = targetFromConfig();
    if (target) client = connect(target);
  }
  return client;
}

/** Tests: points this process at a local Stigg (or, with null, turns Stigg off). */
export function pointStiggAt(target: { url: string; apiKey: string } | null): void {
  client?.stigg.close();
  resolved = true;
  client = target ? connect(target) : null;
}

export const stiggEnabled = () => current() !== null;

function sdk(): Stigg {
  const c = current();
  if (!c) throw new Error("Stigg is off (set STIGG_API_KEY or STIGG_API_URL)");
  return c.stigg;
}

/** Stigg's plan id for a plan version: versions never change in place, so each is its own plan. */
export const stiggPlanId = (planCode: string, planVersion: number) => `plan-metered-${planCode}-v${planVersion}`;

// ── Mirror: the org and its subscription ──

export type OrgMirror = {
  orgId: string;
  name: string;
  email: string | null;
  stripeCustomerId: string | null;
  stripeSubscriptionId: string | null;
  planId: string;
  startDate: Date;
  /** Set when the subscription has ended: Stigg's becomes canceled. */
  endDate: Date | null;
  /** The database's time of this state: Stigg skips it when it holds a newer one. */
  updatedAt: Date;
};

/**
 * The customer (billing id = Stripe's customer), then its subscription through Stigg's import,
 * which never creates anything in Stripe and skips a state older than the one Stigg holds.
 */
export async function mirrorOrg(m: OrgMirror): Promise<void> {
  const stigg = sdk();
  await stigg.provisionCustomer({
    customerId: m.orgId,
    name: m.name,
    email: m.email ?? undefined,
    billingId: m.stripeCustomerId ?? undefined,
    subscriptionParams: null,
  });
  await stigg.importSubscriptionBulk({
    subscriptions: [
      {
        customerId: m.orgId,
        subscriptionId: stiggSubscriptionId(m.orgId, m.stripeSubscriptionId),
        planId: m.planId,
        billingId: m.stripeSubscriptionId ?? undefined,
        startDate: m.startDate,
        endDate: m.endDate ?? undefined,
        updatedAt: m.updatedAt,
      },
    ],
  });
}

const stiggSubscriptionId = (orgId: string, stripeSubscriptionId: string | null) => `subscription-${stripeSubscriptionId ?? orgId}`;

/** What Stigg holds for an org: its active plan and its entitlements (by feature). Throws when Stigg does not answer. */
export async function stiggStateOf(orgId: string): Promise<{ planId: string | null; entitlements: StiggGrant[] }> {
  const stigg = sdk();
  let subs: Awaited<ReturnType<Stigg["getActiveSubscriptionsList"]>>;
  try {
    subs = await stigg.getActiveSubscriptionsList({ customerId: orgId });
  } catch (err) {
    if (/CustomerNotFound|Customer not found/i.test(String((err as Error).message))) return { planId: null, entitlements: [] };
    throw err;
  }
  const entitlements = await stigg.getEntitlements(orgId);
  return { planId: (subs[0]?.plan as { planId?: string } | undefined)?.planId ?? null, entitlements: entitlements.map(grantOf) };
}

/** One entitlement as the drift check compares it. */
export type StiggGrant = { feature: string; type: "BOOLEAN" | "NUMERIC" | "METERED" | "ENUM"; limit: number | null; unlimited: boolean };

function grantOf(e: Awaited<ReturnType<Stigg["getEntitlements"]>>[number]): StiggGrant {
  const f = e.feature as { id?: string; refId?: string } | undefined;
  const any = e as { usageLimit?: number; value?: number; isUnlimited?: boolean };
  return { feature: f?.id ?? f?.refId ?? "", type: e.type as StiggGrant["type"], limit: any.usageLimit ?? any.value ?? null, unlimited: !!any.isUnlimited };
}

// ── Catalog: features and plans ──

export type StiggFeature = { refId: string; displayName: string; type: "metered" | "numeric" | "boolean"; unit: string | null };
export type StiggPlan = {
  refId: string;
  displayName: string;
  metadata: Record<string, unknown>;
  entitlements: { featureId: string; usageLimit: number | null; hasUnlimitedUsage: boolean; metered: boolean }[];
};

class StiggRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** One management document to Stigg's GraphQL endpoint (the SDK has no catalog calls). */
async function management<T>(document: DocumentNode, operationName: string, variables: Record<string, unknown>): Promise<T> {
  const c = current();
  if (!c) throw new Error("Stigg is off");
  const response = await fetch(`${c.target.url ?? "https://api.stigg.io"}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": c.target.apiKey, "x-graphql-operation-name": operationName },
    body: JSON.stringify({ operationName, query: print(document), variables }),
    signal: AbortSignal.timeout(STIGG_TIMEOUT_MS),
  });
  const text = await response.text();
  let body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`Stigg answered ${response.status} to ${operationName}`);
  }
  const error = body.errors?.[0];
  if (error) throw new StiggRefused(error.extensions?.code ?? "UNKNOWN", `Stigg refused ${operationName}: ${error.message}`);
  if (!response.ok || !body.data) throw new Error(`Stigg answered ${response.status} to ${operationName}`);
  return body.data;
}

const duplicate = (err: unknown) => err instanceof StiggRefused && err.code === "DuplicatedEntityNotAllowed";

/** Creates the features Stigg does not have yet (a feature's type never changes). */
export async function publishFeatures(features: StiggFeature[]): Promise<void> {
  for (const f of features) {
    try {
      await management(documents.CreateFeatureDocument, "CreateFeature", {
        input: {
          refId: f.refId,
          displayName: f.displayName,
          featureType: f.type === "boolean" ? "BOOLEAN" : "NUMBER",
          meterType: f.type === "metered" ? "Incremental" : "None",
          featureUnits: f.unit,
          featureUnitsPlural: f.unit ? `${f.unit}s` : null,
        },
      });
    } catch (err) {
      if (!duplicate(err)) throw err;
    }
  }
}

type PlanRead = {
  id: string;
  refId: string;
  status: string;
  additionalMetaData: unknown;
  entitlements: { featureId: string; usageLimit: number | null; hasUnlimitedUsage: boolean }[];
};

/** The plan as Stigg has it, or null. */
export async function readStiggPlan(refId: string): Promise<PlanRead | null> {
  try {
    return (await management<{ plan: PlanRead }>(documents.GetPlanDocument, "GetPlan", { input: { refId } })).plan;
  } catch (err) {
    if (err instanceof StiggRefused && err.code === "PlanNotFound") return null;
    throw err;
  }
}

/**
 * Publishes a plan version (create, entitlements, publish); a published one is left alone (a
 * plan version never changes), a draft left by an interrupted run gets what it lacks.
 */
export async function publishPlan(plan: StiggPlan): Promise<"published" | "already"> {
  const existing = await readStiggPlan(plan.refId);
  if (existing?.status === "PUBLISHED") return "already";
  const have = new Set(existing?.entitlements.map((e) => e.featureId) ?? []);
  const id =
    existing?.id ??
    (
      await management<{ createOnePlan: { id: string } }>(documents.CreatePlanDocument, "CreatePlan", {
        input: { refId: plan.refId, displayName: plan.displayName, additionalMetaData: plan.metadata, pricingType: "PAID" },
      })
    ).createOnePlan.id;
  const missing = plan.entitlements.filter((e) => !have.has(e.featureId));
  if (missing.length > 0) {
    await management(documents.CreatePackageEntitlementsDocument, "CreatePackageEntitlements", {
      input: {
        packageId: id,
        entitlements: missing.map((e) => ({
          feature: { featureId: e.featureId, usageLimit: e.usageLimit, hasUnlimitedUsage: e.hasUnlimitedUsage, resetPeriod: e.metered ? "MONTH" : null },
        })),
      },
    });
  }
  await management(documents.PublishPlanDocument, "PublishPlan", { input: { id, migrationType: "NEW_CUSTOMERS" } });
  return "published";
}

// ── Previews: non-money facts only, time-boxed ──

/** How long a preview waits for Stigg (it runs beside Stripe's, which it never delays by more). */
export const STIGG_PREVIEW_BOX_MS = 500;

export type StiggPreviewFacts = { isPlanDowngrade: boolean; hasScheduledUpdates: boolean };

/**
 * Stigg's view of moving the org to a plan: whether Stigg sees a downgrade and scheduled
 * updates. Never an amount (Stigg has its own clock and no proration date: Stripe's figures are
 * the money). Null when Stigg is off, fails or takes longer than the time box.
 */
export async function previewInStigg(orgId: string, planId: string): Promise<StiggPreviewFacts | null> {
  const c = current();
  if (!c) return null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const box = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), STIGG_PREVIEW_BOX_MS);
  });
  const ask = c.stigg
    .previewSubscription({ customerId: orgId, planId })
    .then((p) => ({ isPlanDowngrade: !!p.isPlanDowngrade, hasScheduledUpdates: !!p.hasScheduledUpdates }))
    .catch((err: unknown) => {
      log.warn({ err: String((err as Error)?.message ?? err).slice(0, 200), orgId }, "stigg preview failed; Stripe's preview stands alone");
      return null;
    });
  try {
    return await Promise.race([ask, box]);
  } finally {
    clearTimeout(timer);
  }
}
