// What each operation does to the local Stigg's state and answers, typed against the SDK's
// generated result types (the management operations against the app's documents' shapes).
// A refusal is a StiggGraphqlError, answered in Stigg's error shape by index.ts.
import type {
  EntitlementFragment,
  FetchEntitlementsQuery,
  GetActiveSubscriptionsInput,
  GetActiveSubscriptionsListQuery,
  GetEntitlementsQuery,
  GetSdkConfigurationQuery,
  ImportSubscriptionsBulkInput,
  ImportSubscriptionsBulkMutation,
  PreviewSubscriptionInput,
  PreviewSubscriptionMutation,
  ProvisionCustomerInput,
  ProvisionCustomerMutation,
} from "@stigg/api-client-js/src/generated/sdk";
import type postgres from "postgres";
import type { StiggStore, StoredCustomer, StoredEntitlement, StoredFeature, StoredPlan, StoredSubscription } from "./store";

/** A GraphQL error as Stigg answers one: HTTP 200, `errors[].extensions.code` naming it. */
export class StiggGraphqlError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly isValidationError = false,
  ) {
    super(message);
  }
}

type Vars = Record<string, unknown>;
type Resolver = (store: StiggStore, vars: Vars) => Promise<Record<string, unknown>>;

const iso = () => new Date().toISOString();
const money = (amount: number) => ({ __typename: "Money" as const, amount, currency: "usd" as never });

function input<T>(vars: Vars, name = "input"): T {
  const v = vars[name];
  if (!v || typeof v !== "object") throw new StiggGraphqlError("BAD_USER_INPUT", `Variable "$${name}" of required type was not provided.`, true);
  return v as T;
}

function required(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0)
    throw new StiggGraphqlError("BAD_USER_INPUT", `Field "${field}" of required type "String!" was not provided.`, true);
  return value;
}

/** The customer's entitlements as Stigg computes them: its current subscription's plan's. */
async function entitlementsOf(store: StiggStore, customerId: string): Promise<EntitlementFragment[]> {
  const customer = await store.customer(customerId);
  if (!customer) throw new StiggGraphqlError("CustomerNotFound", `Customer not found ${customerId}`);
  const sub = await store.activeSubscription(customerId);
  const plan = sub ? await store.plan({ refId: sub.planId }) : null;
  if (!sub || !plan) return [];
  const out: EntitlementFragment[] = [];
  for (const e of plan.entitlements) {
    const feature = await store.feature(e.featureId);
    if (feature) out.push(entitlementOf(customerId, sub, feature, e));
  }
  return out;
}

function entitlementOf(customerId: string, sub: StoredSubscription, f: StoredFeature, e: StoredEntitlement): EntitlementFragment {
  const metered = f.meterType !== "None";
  return {
    __typename: "Entitlement",
    isGranted: true,
    accessDeniedReason: null,
    customerId,
    resourceId: null,
    usageLimit: e.usageLimit,
    hasUnlimitedUsage: e.hasUnlimitedUsage,
    hasSoftLimit: false,
    currentUsage: metered ? 0 : null,
    requestedUsage: null,
    requestedValues: null,
    enumValues: null,
    entitlementUpdatedAt: sub.updatedAt,
    usageUpdatedAt: null,
    usagePeriodAnchor: metered ? sub.startDate : null,
    usagePeriodStart: null,
    usagePeriodEnd: null,
    nextResetDate: null,
    resetPeriod: (e.resetPeriod as never) ?? null,
    resetPeriodConfiguration: null,
    feature: {
      __typename: "EntitlementFeature",
      featureType: f.featureType as never,
      meterType: f.meterType as never,
      featureUnits: f.featureUnits,
      featureUnitsPlural: f.featureUnitsPlural,
      description: f.description,
      displayName: f.displayName,
      refId: f.refId,
      unitTransformation: null,
    },
    creditRate: null,
    validUntil: null,
  };
}

async function provisionCustomer(store: StiggStore, vars: Vars): Promise<ProvisionCustomerMutation> {
  const i = input<ProvisionCustomerInput>(vars);
  if (i.subscriptionParams) {
    throw new StiggGraphqlError("BAD_USER_INPUT", "The local Stigg provisions customers only; subscriptions arrive through importSubscriptionsBulk.", true);
  }
  const refId = i.customerId ?? i.refId ?? `customer-${crypto.randomUUID().slice(0, 8)}`;
  const customer = await store.locked(async (tx) => {
    const prev = await store.customer(refId, tx);
    const now = iso();
    const c: StoredCustomer = {
      id: prev?.id ?? crypto.randomUUID(),
      refId,
      name: i.name ?? prev?.name ?? null,
      email: i.email ?? prev?.email ?? null,
      billingId: i.billingId ?? prev?.billingId ?? null,
      additionalMetaData: i.additionalMetaData ?? prev?.additionalMetaData ?? null,
      createdAt: prev?.createdAt ?? now,
      updatedAt: now,
    };
    await store.putCustomer(c, tx);
    return c;
  });
  return {
    provisionCustomer: {
      __typename: "ProvisionedCustomer",
      customer: {
        __typename: "Customer",
        id: customer.id,
        name: customer.name,
        email: customer.email,
        createdAt: customer.createdAt,
        updatedAt: customer.updatedAt,
        refId: customer.refId,
        customerId: customer.refId,
        billingId: customer.billingId,
        additionalMetaData: customer.additionalMetaData,
        awsMarketplaceCustomerId: null,
      },
      subscriptionDecisionStrategy: "SKIPPED_SUBSCRIPTION_CREATION" as never,
      subscription: null,
      entitlements: await entitlementsOf(store, refId),
    },
  };
}

/** Stigg's import: each subscription is skipped when the stored one was updated after its `updatedAt`. */
async function importSubscriptionsBulk(store: StiggStore, vars: Vars): Promise<ImportSubscriptionsBulkMutation> {
  const i = input<ImportSubscriptionsBulkInput>(vars);
  if (!Array.isArray(i.subscriptions)) throw new StiggGraphqlError("BAD_USER_INPUT", 'Field "subscriptions" of required type was not provided.', true);
  await store.locked(async (tx) => {
    for (const s of i.subscriptions) {
      const customerId = required(s.customerId, "customerId");
      const planId = required(s.planId, "planId");
      if (!(await store.customer(customerId, tx))) throw new StiggGraphqlError("CustomerNotFound", `Customer not found ${customerId}`);
      const plan = await store.plan({ refId: planId }, tx);
      if (plan?.status !== "PUBLISHED") throw new StiggGraphqlError("PlanNotFound", `Plan not found ${planId}`);
      const subscriptionId = s.subscriptionId ?? `subscription-${crypto.randomUUID().slice(0, 12)}`;
      const updatedAt = s.updatedAt ? new Date(s.updatedAt as string) : new Date();
      if (Number.isNaN(updatedAt.getTime())) throw new StiggGraphqlError("BAD_USER_INPUT", `updatedAt is not a date: ${String(s.updatedAt)}`, true);
      const prev = await store.subscription(subscriptionId, tx);
      if (prev && new Date(prev.updatedAt) > updatedAt) continue;
      const ended = s.endDate ? new Date(s.endDate as string) <= new Date() : false;
      // One current subscription per customer: a newer import of another one replaces it.
      const current = await store.activeSubscription(customerId, tx);
      if (current && current.subscriptionId !== subscriptionId && !ended) {
        if (new Date(current.updatedAt) > updatedAt) continue;
        await store.putSubscription({ ...current, status: "CANCELED", endDate: updatedAt.toISOString() }, tx);
      }
      await store.putSubscription(
        {
          id: prev?.id ?? crypto.randomUUID(),
          subscriptionId,
          customerId,
          planId,
          billingId: s.billingId ?? null,
          status: ended ? "CANCELED" : "ACTIVE",
          startDate: s.startDate ? new Date(s.startDate as string).toISOString() : (prev?.startDate ?? updatedAt.toISOString()),
          endDate: s.endDate ? new Date(s.endDate as string).toISOString() : null,
          additionalMetaData: s.additionalMetaData ?? null,
          updatedAt: updatedAt.toISOString(),
        },
        tx,
      );
    }
  });
  return { importSubscriptionsBulk: null };
}

async function getEntitlements(store: StiggStore, vars: Vars): Promise<GetEntitlementsQuery> {
  const q = input<FetchEntitlementsQuery>(vars, "query");
  // `entitlements` is the document's alias of `cachedEntitlements`: the projection reads the field's name.
  return { cachedEntitlements: await entitlementsOf(store, required(q.customerId, "customerId")) } as never;
}

async function getActiveSubscriptionsList(store: StiggStore, vars: Vars): Promise<GetActiveSubscriptionsListQuery> {
  const i = input<GetActiveSubscriptionsInput>(vars);
  const customerId = required(i.customerId, "customerId");
  if (!(await store.customer(customerId))) throw new StiggGraphqlError("CustomerNotFound", `Customer not found ${customerId}`);
  const sub = await store.activeSubscription(customerId);
  const plan = sub ? await store.plan({ refId: sub.planId }) : null;
  return {
    getActiveSubscriptions:
      sub && plan
        ? [
            {
              __typename: "CustomerSubscription",
              subscriptionId: sub.subscriptionId,
              status: sub.status as never,
              pricingType: "PAID" as never,
              startDate: sub.startDate,
              cancellationDate: null,
              currentBillingPeriodEnd: null,
              customer: { __typename: "Customer", customerId },
              payingCustomer: null,
              resource: null,
              // The document aliases `planId: refId`: the projection reads `refId`.
              plan: { __typename: "Plan", refId: plan.refId, displayName: plan.displayName } as never,
              addons: [],
              trialConfiguration: null,
              trialEndDate: null,
            },
          ]
        : [],
  };
}

/**
 * A preview of moving the customer to a plan. The local Stigg prices nothing (the app's money is
 * Stripe's): its amounts are zero; what it knows is whether the move is a downgrade (by the
 * plans' `monthlyPrice` metadata) and that nothing is scheduled.
 */
async function previewSubscription(store: StiggStore, vars: Vars): Promise<PreviewSubscriptionMutation> {
  const i = input<PreviewSubscriptionInput>(vars);
  const customerId = required(i.customerId, "customerId");
  if (!(await store.customer(customerId))) throw new StiggGraphqlError("CustomerNotFound", `Customer not found ${customerId}`);
  const target = await store.plan({ refId: required(i.planId, "planId") });
  if (target?.status !== "PUBLISHED") throw new StiggGraphqlError("PlanNotFound", `Plan not found ${i.planId}`);
  const sub = await store.activeSubscription(customerId);
  const current = sub ? await store.plan({ refId: sub.planId }) : null;
  const price = (p: StoredPlan | null) => Number((p?.additionalMetaData as { monthlyPrice?: number } | null)?.monthlyPrice ?? 0);
  const zero = { total: money(0), subTotal: money(0), totalExcludingTax: money(0), tax: null, discount: null, taxDetails: null, discountDetails: null };
  return {
    previewSubscription: {
      __typename: "SubscriptionPreviewV2",
      immediateInvoice: { __typename: "ImmediateSubscriptionPreviewInvoice", ...zero, credits: null, proration: null },
      recurringInvoice: { __typename: "SubscriptionPreviewInvoice", ...zero },
      billingPeriodRange: { __typename: "DateRange", start: new Date().toISOString(), end: null },
      isPlanDowngrade: current ? price(target) < price(current) : false,
      hasScheduledUpdates: false,
    },
  };
}

async function getSdkConfiguration(): Promise<GetSdkConfigurationQuery> {
  return { sdkConfiguration: { __typename: "SdkConfiguration", sentryDsn: null, isWidgetWatermarkEnabled: false } };
}

// ── Management (the app's documents) ──

type FeatureInput = {
  refId: string;
  displayName: string;
  featureType: "BOOLEAN" | "NUMBER";
  meterType?: "None" | "Incremental" | "Fluctuating";
  featureUnits?: string | null;
  featureUnitsPlural?: string | null;
  description?: string | null;
};

async function createFeature(store: StiggStore, vars: Vars) {
  const i = input<FeatureInput>(vars);
  const refId = required(i.refId, "refId");
  if (i.featureType !== "BOOLEAN" && i.featureType !== "NUMBER")
    throw new StiggGraphqlError("BAD_USER_INPUT", `featureType must be BOOLEAN or NUMBER (got ${String(i.featureType)})`, true);
  const feature: StoredFeature = {
    refId,
    featureType: i.featureType,
    meterType: i.meterType ?? "None",
    displayName: i.displayName ?? refId,
    featureUnits: i.featureUnits ?? null,
    featureUnitsPlural: i.featureUnitsPlural ?? null,
    description: i.description ?? null,
  };
  await store.locked(async (tx) => {
    if (await store.feature(refId, tx)) throw new StiggGraphqlError("DuplicatedEntityNotAllowed", `Feature ${refId} already exists`);
    await store.putFeature(feature, tx);
  });
  return { createFeature: feature };
}

async function createPlan(store: StiggStore, vars: Vars) {
  const i = input<{ refId: string; displayName: string; additionalMetaData?: Record<string, unknown> }>(vars);
  const refId = required(i.refId, "refId");
  const plan: StoredPlan = {
    id: crypto.randomUUID(),
    refId,
    displayName: i.displayName ?? refId,
    status: "DRAFT",
    versionNumber: 1,
    additionalMetaData: i.additionalMetaData ?? null,
    entitlements: [],
  };
  await store.locked(async (tx) => {
    if (await store.plan({ refId }, tx)) throw new StiggGraphqlError("DuplicatedEntityNotAllowed", `Plan ${refId} already exists`);
    await store.putPlan(plan, tx);
  });
  return { createOnePlan: plan };
}

type EntitlementInput = { feature?: { featureId: string; usageLimit?: number | null; hasUnlimitedUsage?: boolean | null; resetPeriod?: "MONTH" | null } };

async function createPackageEntitlements(store: StiggStore, vars: Vars) {
  const i = input<{ packageId: string; entitlements: EntitlementInput[] }>(vars);
  const packageId = required(i.packageId, "packageId");
  const created = await store.locked(async (tx) => {
    const plan = await store.plan({ id: packageId }, tx);
    if (!plan) throw new StiggGraphqlError("PackageNotFound", `Package not found ${packageId}`);
    if (plan.status !== "DRAFT") throw new StiggGraphqlError("CannotEditPackageInNonDraftMode", `Plan ${plan.refId} is published: edit a draft of it`);
    const added: StoredEntitlement[] = [];
    for (const e of i.entitlements ?? []) {
      const featureId = required(e.feature?.featureId, "featureId");
      if (!(await store.feature(featureId, tx))) throw new StiggGraphqlError("FeatureNotFound", `Feature not found ${featureId}`);
      if (plan.entitlements.some((x) => x.featureId === featureId))
        throw new StiggGraphqlError("DuplicatedEntityNotAllowed", `Plan ${plan.refId} already has ${featureId}`);
      added.push({
        featureId,
        usageLimit: e.feature?.usageLimit ?? null,
        hasUnlimitedUsage: !!e.feature?.hasUnlimitedUsage,
        resetPeriod: e.feature?.resetPeriod ?? null,
      });
    }
    await store.putPlan({ ...plan, entitlements: [...plan.entitlements, ...added] }, tx);
    return added;
  });
  return { createPackageEntitlements: created.map((e) => ({ __typename: "PackageFeatureEntitlement", ...e })) };
}

async function publishPlan(store: StiggStore, vars: Vars) {
  const i = input<{ id: string; migrationType?: string }>(vars);
  const id = required(i.id, "id");
  await store.locked(async (tx: postgres.TransactionSql) => {
    const plan = await store.plan({ id }, tx);
    if (!plan) throw new StiggGraphqlError("PackageNotFound", `Package not found ${id}`);
    await store.putPlan({ ...plan, status: "PUBLISHED" }, tx);
  });
  return { publishPlan: { taskId: crypto.randomUUID() } };
}

async function getPlan(store: StiggStore, vars: Vars) {
  const i = input<{ refId: string }>(vars);
  const plan = await store.plan({ refId: required(i.refId, "refId") });
  if (!plan) throw new StiggGraphqlError("PlanNotFound", `Plan not found ${i.refId}`);
  return { getPlanByRefId: plan };
}

export const RESOLVERS: Record<string, Resolver> = {
  GetSdkConfiguration: getSdkConfiguration,
  ProvisionCustomer: provisionCustomer,
  ImportSubscriptionsBulk: importSubscriptionsBulk,
  GetEntitlements: getEntitlements,
  GetActiveSubscriptionsList: getActiveSubscriptionsList,
  PreviewSubscription: previewSubscription,
  CreateFeature: createFeature,
  CreatePlan: createPlan,
  CreatePackageEntitlements: createPackageEntitlements,
  PublishPlan: publishPlan,
  GetPlan: getPlan,
};
