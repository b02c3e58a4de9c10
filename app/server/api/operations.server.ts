// Every /api/v1 operation, declared once for the contract: its route file, auth, input, answer
// and the error codes it can answer. The OpenAPI document and docs/api.md are made from this.
import type { z } from "zod";
import type { ErrorCode } from "../platform/errors.server";
import * as s from "./schemas.server";

export type Auth = "apiKey" | "session" | "none";

export type Operation = {
  method: "get" | "post" | "delete";
  /** OpenAPI path template. */
  path: string;
  /** The app/routes file that serves it. */
  routeFile: string;
  operationId: string;
  tag: "Usage" | "Plans" | "Billing" | "API keys" | "Webhooks" | "Contract";
  summary: string;
  description: string;
  auth: Auth;
  query?: z.ZodObject;
  body?: { schema: z.ZodType; name: string; example: unknown };
  idempotencyKey?: boolean;
  /** The `data` of the success envelope (null: the answer is not enveloped), with an example answer. */
  data: { schema: z.ZodType; name: string; example?: unknown } | null;
  /** A replay answers the first success again, with `Idempotent-Replayed: true`. */
  replays?: boolean;
  errors: ErrorCode[];
};

const JSON_BODY: ErrorCode[] = ["MALFORMED_JSON", "VALIDATION_FAILED", "PAYLOAD_TOO_LARGE"];
const SESSION: ErrorCode[] = ["UNAUTHENTICATED", "FORBIDDEN"];
const ALWAYS: ErrorCode[] = ["SERVICE_UNAVAILABLE", "INTERNAL"];
const STRIPE: ErrorCode[] = ["UPSTREAM_UNAVAILABLE"];
const planBody = { schema: s.planCodeBody, name: "PlanCodeBody", example: { planCode: "growth" } };
const subscription = { schema: s.subscriptionSummary, name: "SubscriptionSummary" };

export const operations: Operation[] = [
  {
    method: "get",
    path: "/api/v1/quota",
    routeFile: "api.v1.quota.ts",
    operationId: "getQuota",
    tag: "Usage",
    summary: "Check the quota",
    description:
      "The org's usage of a metric in the current period. Hot path: reads the database (or the optional Redis copy, at most 1 s old) only; never calls Stripe, Stigg or Clerk. An exhausted quota still answers 200 with `allow: false`: checking is not denied, recording is.",
    auth: "apiKey",
    query: s.quotaQuery,
    data: {
      schema: s.quotaSummary,
      name: "QuotaSummary",
      example: {
        allow: true,
        remaining: 49990,
        used: 10,
        included: 50000,
        metric: "api_call",
        periodKey: "2026-11",
        periodStart: "2026-11-05T00:00:00.000Z",
        periodEnd: "2026-12-05T00:00:00.000Z",
        planCode: "starter",
        status: "active",
      },
    },
    errors: ["VALIDATION_FAILED", "UNAUTHENTICATED", "SUBSCRIPTION_INACTIVE", ...ALWAYS],
  },
  {
    method: "post",
    path: "/api/v1/usage",
    routeFile: "api.v1.usage.ts",
    operationId: "recordUsage",
    tag: "Usage",
    summary: "Record usage",
    description: [
      "Counts `quantity` units once per `(org, request_id)`. Admitted only if `used + quantity <= included`; otherwise 429 `QUOTA_EXCEEDED` with `Retry-After` (seconds until the period ends), nothing counted and the request_id not burned (it may succeed later, after an upgrade). Under any concurrency `used` never exceeds `included`.",
      "A repeat with the same payload answers the identical status and body as the first success, plus `Idempotent-Replayed: true`, and never counts again, even when repeats arrive concurrently and across a period boundary within 24 hours. A repeat with another metric or quantity is 409 `IDEMPOTENCY_CONFLICT`. So a client retries a lost answer (network error, timeout, 5xx) with the same request_id.",
    ].join("\n\n"),
    auth: "apiKey",
    body: { schema: s.usageBody, name: "UsageBody", example: { request_id: "req_01JDQ8W6Y2N4", metric: "api_call", quantity: 1 } },
    data: {
      schema: s.usageRecord,
      name: "UsageRecord",
      example: {
        request_id: "req_01JDQ8W6Y2N4",
        metric: "api_call",
        quantity: 1,
        used: 11,
        remaining: 49989,
        included: 50000,
        periodKey: "2026-11",
        recordedAt: "2026-11-23T10:00:00.123Z",
      },
    },
    replays: true,
    errors: [...JSON_BODY, "UNAUTHENTICATED", "SUBSCRIPTION_INACTIVE", "IDEMPOTENCY_CONFLICT", "QUOTA_EXCEEDED", ...ALWAYS],
  },
  {
    method: "get",
    path: "/api/v1/plans",
    routeFile: "api.v1.plans.ts",
    operationId: "listPlans",
    tag: "Plans",
    summary: "List the plans",
    description: "Public. The plan catalog: price per month in minor units, currency, included units per metric, trial days (for `trial`).",
    auth: "none",
    data: { schema: s.planList, name: "PlanList" },
    errors: ["INTERNAL"],
  },
  {
    method: "get",
    path: "/api/v1/subscription",
    routeFile: "api.v1.subscription.ts",
    operationId: "getSubscription",
    tag: "Billing",
    summary: "The subscription",
    description: "Plan, status, trial end, period, a scheduled downgrade, and the usage of the current period (`null` without a live subscription).",
    auth: "session",
    data: { schema: s.subscriptionOverview, name: "SubscriptionOverview" },
    errors: ["UNAUTHENTICATED", ...ALWAYS],
  },
  {
    method: "get",
    path: "/api/v1/invoices",
    routeFile: "api.v1.invoices.ts",
    operationId: "listInvoices",
    tag: "Billing",
    summary: "List the invoices",
    description: "The org's invoices as mirrored from Stripe (newest first, at most 100), with the hosted page and PDF links.",
    auth: "session",
    data: { schema: s.invoiceList, name: "InvoiceList" },
    errors: ["UNAUTHENTICATED", ...ALWAYS],
  },
  {
    method: "post",
    path: "/api/v1/billing/checkout",
    routeFile: "api.v1.billing.checkout.ts",
    operationId: "startCheckout",
    tag: "Billing",
    summary: "Start a Checkout",
    description:
      "A Stripe Checkout session (subscription mode) for an org without a live subscription; `trial` is the starter price with the plan's trial days. Answers the URL to send the browser to.",
    auth: "session",
    body: { ...planBody, example: { planCode: "trial" } },
    data: { schema: s.redirectUrl, name: "RedirectUrl" },
    errors: [...JSON_BODY, ...SESSION, ...STRIPE, ...ALWAYS],
  },
  {
    method: "post",
    path: "/api/v1/billing/portal",
    routeFile: "api.v1.billing.portal.ts",
    operationId: "openPortal",
    tag: "Billing",
    summary: "Open the billing portal",
    description: "A Stripe billing portal session for the org; answers its URL.",
    auth: "session",
    data: { schema: s.redirectUrl, name: "RedirectUrl" },
    errors: [...SESSION, ...STRIPE, ...ALWAYS],
  },
  {
    method: "post",
    path: "/api/v1/billing/preview",
    routeFile: "api.v1.billing.preview.ts",
    operationId: "previewPlanChange",
    tag: "Billing",
    summary: "Preview a plan change",
    description:
      "What a change would cost, changing nothing anywhere (Stigg's figures when configured, else Stripe's invoice preview, prorated to the second). Upgrade = a higher monthly price, effective now with proration; downgrade = a lower price at the period end, `amountDueNow: 0`. The same plan is `VALIDATION_FAILED`.",
    auth: "session",
    body: planBody,
    data: { schema: s.planChangePreview, name: "PlanChangePreview" },
    errors: [...JSON_BODY, ...SESSION, "SUBSCRIPTION_INACTIVE", ...STRIPE, ...ALWAYS],
  },
  {
    method: "post",
    path: "/api/v1/billing/upgrade",
    routeFile: "api.v1.billing.upgrade.ts",
    operationId: "upgradeNow",
    tag: "Billing",
    summary: "Upgrade now",
    description:
      "Changes the Stripe subscription at once (prorated at the preview's `prorationDate`, invoiced now) and raises the org's included units for the current period before answering; `used` carries over. From a trial it ends the trial; a pending downgrade is cleared. A retry with the same `Idempotency-Key` answers the original success and charges nothing more; the same key for another plan is `IDEMPOTENCY_CONFLICT`.",
    auth: "session",
    body: { schema: s.upgradeBody, name: "UpgradeBody", example: { planCode: "pro", prorationDate: 1795622400 } },
    idempotencyKey: true,
    data: subscription,
    errors: [...JSON_BODY, ...SESSION, "SUBSCRIPTION_INACTIVE", "PREVIEW_EXPIRED", "IDEMPOTENCY_CONFLICT", ...STRIPE, ...ALWAYS],
  },
  {
    method: "post",
    path: "/api/v1/billing/downgrade",
    routeFile: "api.v1.billing.downgrade.ts",
    operationId: "scheduleDowngrade",
    tag: "Billing",
    summary: "Schedule a downgrade",
    description:
      "Makes a Stripe subscription schedule: the current price until the period end, then the lower one, so Stripe bills the lower price from the renewal and the new period's counter gets its units; `pendingPlanCode` shows it. Nothing changes before the period ends. A second downgrade replaces the first; an upgrade clears it.",
    auth: "session",
    body: { ...planBody, example: { planCode: "starter" } },
    data: subscription,
    errors: [...JSON_BODY, ...SESSION, "SUBSCRIPTION_INACTIVE", ...STRIPE, ...ALWAYS],
  },
  {
    method: "delete",
    path: "/api/v1/billing/downgrade",
    routeFile: "api.v1.billing.downgrade.ts",
    operationId: "cancelDowngrade",
    tag: "Billing",
    summary: "Cancel the scheduled downgrade",
    description: "Keeps the current plan after all. No scheduled downgrade: `NOT_FOUND`.",
    auth: "session",
    data: subscription,
    errors: [...SESSION, "NOT_FOUND", ...STRIPE, ...ALWAYS],
  },
  {
    method: "get",
    path: "/api/v1/keys",
    routeFile: "api.v1.keys.ts",
    operationId: "listApiKeys",
    tag: "API keys",
    summary: "List the API keys",
    description: "The org's keys, newest first: name, prefix, created, last used, revoked. Never the key itself. For org admins (a member is `FORBIDDEN`).",
    auth: "session",
    data: { schema: s.apiKeyList, name: "ApiKeyList" },
    errors: [...SESSION, ...ALWAYS],
  },
  {
    method: "post",
    path: "/api/v1/keys",
    routeFile: "api.v1.keys.ts",
    operationId: "createApiKey",
    tag: "API keys",
    summary: "Create an API key",
    description: "Answers the plaintext key once (`mk_live_` or `mk_test_` prefix); only its hash is stored.",
    auth: "session",
    body: { schema: s.createKeyBody, name: "CreateKeyBody", example: { name: "production server" } },
    data: { schema: s.createdApiKey, name: "CreatedApiKey" },
    errors: [...JSON_BODY, ...SESSION, ...ALWAYS],
  },
  {
    method: "delete",
    path: "/api/v1/keys/{id}",
    routeFile: "api.v1.keys.$id.ts",
    operationId: "revokeApiKey",
    tag: "API keys",
    summary: "Revoke an API key",
    description: "Revokes a key of the session's org; it fails everywhere within a few seconds. Another org's key is `NOT_FOUND`.",
    auth: "session",
    data: { schema: s.revokedApiKey, name: "RevokedApiKey" },
    errors: [...SESSION, "NOT_FOUND", ...ALWAYS],
  },
  {
    method: "get",
    path: "/api/v1/webhooks/endpoints",
    routeFile: "api.v1.webhooks.endpoints.ts",
    operationId: "listWebhookEndpoints",
    tag: "Webhooks",
    summary: "List webhook endpoints",
    description: "The org's outbound webhook endpoints (without their secrets), and the event types an endpoint can subscribe to.",
    auth: "session",
    data: { schema: s.webhookEndpointList, name: "WebhookEndpointList" },
    errors: [...SESSION, ...ALWAYS],
  },
  {
    method: "post",
    path: "/api/v1/webhooks/endpoints",
    routeFile: "api.v1.webhooks.endpoints.ts",
    operationId: "createWebhookEndpoint",
    tag: "Webhooks",
    summary: "Add a webhook endpoint",
    description:
      "Adds an endpoint for the given event types. Deliveries are signed per the Standard Webhooks specification with the `whsec_…` secret, which is shown only in this answer. A URL that could never be delivered to (http in production, a private, loopback or link-local address) is `VALIDATION_FAILED`.",
    auth: "session",
    body: {
      schema: s.webhookEndpointInput,
      name: "WebhookEndpointInput",
      example: { url: "https://example.com/hooks/metered", eventTypes: ["usage.threshold_reached", "invoice.payment_failed"] },
    },
    data: { schema: s.createdWebhookEndpoint, name: "CreatedWebhookEndpoint" },
    errors: [...JSON_BODY, ...SESSION, ...ALWAYS],
  },
  {
    method: "delete",
    path: "/api/v1/webhooks/endpoints/{id}",
    routeFile: "api.v1.webhooks.endpoints.$id.ts",
    operationId: "deleteWebhookEndpoint",
    tag: "Webhooks",
    summary: "Delete a webhook endpoint",
    description: "Stops deliveries to it; its delivery log stays readable. Another org's endpoint is `NOT_FOUND`.",
    auth: "session",
    data: { schema: s.deletedWebhookEndpoint, name: "DeletedWebhookEndpoint" },
    errors: [...SESSION, "NOT_FOUND", ...ALWAYS],
  },
  {
    method: "post",
    path: "/api/v1/webhooks/endpoints/{id}/test",
    routeFile: "api.v1.webhooks.endpoints.$id.[test].ts",
    operationId: "sendWebhookTest",
    tag: "Webhooks",
    summary: "Send a test event",
    description: "Sends a `webhook.test` event to this endpoint only; the answer names the delivery to watch.",
    auth: "session",
    data: { schema: s.webhookTestSent, name: "WebhookTestSent" },
    errors: [...SESSION, "NOT_FOUND", ...ALWAYS],
  },
  {
    method: "get",
    path: "/api/v1/webhooks/deliveries",
    routeFile: "api.v1.webhooks.deliveries.ts",
    operationId: "listWebhookDeliveries",
    tag: "Webhooks",
    summary: "List deliveries",
    description: "The org's 50 newest deliveries, each with every attempt: status, response code, latency and the first 1 KB of the answer.",
    auth: "session",
    data: { schema: s.webhookDeliveryList, name: "WebhookDeliveryList" },
    errors: [...SESSION, ...ALWAYS],
  },
  {
    method: "post",
    path: "/api/v1/webhooks/deliveries/{id}/retry",
    routeFile: "api.v1.webhooks.deliveries.$id.retry.ts",
    operationId: "retryWebhookDelivery",
    tag: "Webhooks",
    summary: "Retry a delivery",
    description: "Sends the delivery again now, also after it failed for good. Another org's delivery is `NOT_FOUND`.",
    auth: "session",
    data: { schema: s.webhookDeliveryRetried, name: "WebhookDeliveryRetried" },
    errors: [...SESSION, "NOT_FOUND", ...ALWAYS],
  },
  {
    method: "get",
    path: "/api/openapi.json",
    routeFile: "api.openapi[.]json.ts",
    operationId: "getOpenApi",
    tag: "Contract",
    summary: "This contract",
    description: "The OpenAPI 3.1 document of the API, made from the schemas the routes validate with. Not enveloped: tools read it as it is.",
    auth: "none",
    data: null,
    errors: [],
  },
];
