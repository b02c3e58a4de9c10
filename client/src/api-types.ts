// The Metered API's types, generated from its OpenAPI document (GET /api/openapi.json) by
// `bun run doc:all`: do not edit; `bun run doc:all --check` fails when this file is stale.
// Answers are typed as sent today; fields may be added within v1.

/** The error codes documented today (the `error.code` of an error envelope); new codes may be added (act on the HTTP status). */
export const ERROR_CODES = [
  "VALIDATION_FAILED",
  "MALFORMED_JSON",
  "UNAUTHENTICATED",
  "SUBSCRIPTION_INACTIVE",
  "PAYMENT_FAILED",
  "FORBIDDEN",
  "FEATURE_NOT_IN_PLAN",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "IDEMPOTENCY_CONFLICT",
  "PREVIEW_EXPIRED",
  "PAYLOAD_TOO_LARGE",
  "QUOTA_EXCEEDED",
  "RATE_LIMITED",
  "INTERNAL",
  "UPSTREAM_UNAVAILABLE",
  "SERVICE_UNAVAILABLE",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ApiKeyList = {
  keys: {
    id: string;
    name: string;
    prefix: string;
    /** ISO 8601, UTC */
    createdAt: string;
    /** ISO 8601, UTC */
    lastUsedAt: string | null;
    /** ISO 8601, UTC */
    revokedAt: string | null;
  }[];
};

export type CreatedApiKey = {
  id: string;
  /** The plaintext key (`mk_live_…` or `mk_test_…`), shown only in this answer. */
  key: string;
  name: string;
  prefix: string;
  /** ISO 8601, UTC */
  createdAt: string;
};

export type CreatedWebhookEndpoint = {
  id: string;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  disabledReason: string | null;
  /** ISO 8601, UTC */
  createdAt: string;
  /** The `whsec_…` signing secret (Standard Webhooks), shown only in this answer. */
  secret: string;
};

export type CreateKeyBody = {
  name: string;
};

export type DeletedWebhookEndpoint = {
  id: string;
  deleted: true;
};

export type Entitlement =
  | {
      /** A feature of the catalog. */
      feature: string;
      type: "metered";
      unit: string;
      /** Units included this period (0: not in the plan). */
      included: number;
      used: number;
      remaining: number;
      /** `remaining > 0`: recording this feature would be admitted now. */
      allow: boolean;
    }
  | {
      /** A feature of the catalog. */
      feature: string;
      type: "boolean";
      granted: boolean;
    }
  | {
      /** A feature of the catalog. */
      feature: string;
      type: "numeric";
      /** The plan's limit; `null` is unlimited (0: not in the plan). */
      limit: number | null;
    };

export type Entitlements = {
  plan: {
    code: string;
    /** The plan version the subscription was bought on (it keeps its terms until moved). */
    version: number;
    interval: "month" | "year";
  };
  period: {
    /** `YYYY-MM` of the period start (UTC) */
    key: string;
    /** ISO 8601, UTC */
    start: string;
    /** ISO 8601, UTC */
    end: string;
  };
  features: (
    | {
        /** A feature of the catalog. */
        feature: string;
        type: "metered";
        unit: string;
        /** Units included this period (0: not in the plan). */
        included: number;
        used: number;
        remaining: number;
        /** `remaining > 0`: recording this feature would be admitted now. */
        allow: boolean;
      }
    | {
        /** A feature of the catalog. */
        feature: string;
        type: "boolean";
        granted: boolean;
      }
    | {
        /** A feature of the catalog. */
        feature: string;
        type: "numeric";
        /** The plan's limit; `null` is unlimited (0: not in the plan). */
        limit: number | null;
      }
  )[];
};

export type ErrorEnvelope = {
  ok: false;
  error: {
    /** One of VALIDATION_FAILED, MALFORMED_JSON, UNAUTHENTICATED, SUBSCRIPTION_INACTIVE, PAYMENT_FAILED, FORBIDDEN, FEATURE_NOT_IN_PLAN, NOT_FOUND, METHOD_NOT_ALLOWED, IDEMPOTENCY_CONFLICT, PREVIEW_EXPIRED, PAYLOAD_TOO_LARGE, QUOTA_EXCEEDED, RATE_LIMITED, INTERNAL, UPSTREAM_UNAVAILABLE, SERVICE_UNAVAILABLE; new codes may be added (act on the HTTP status). */
    code: string;
    /** For people; may change. Never a stack trace, SQL or a secret. */
    message: string;
    details: Record<string, unknown>;
  };
};

export type InvoiceList = {
  invoices: {
    id: string;
    number: string | null;
    status: string;
    amountDue: number;
    amountPaid: number;
    total: number;
    currency: string;
    billingReason: string | null;
    /** ISO 8601, UTC */
    periodStart: string | null;
    /** ISO 8601, UTC */
    periodEnd: string | null;
    hostedInvoiceUrl: string | null;
    invoicePdf: string | null;
    /** ISO 8601, UTC */
    created: string;
  }[];
};

export type PlanChangePreview = {
  /** A plan of the catalog (`GET /api/v1/plans`). */
  from: string;
  /** A plan of the catalog (`GET /api/v1/plans`). */
  to: string;
  /** How often the new plan bills. */
  interval: "month" | "year";
  change: "upgrade" | "downgrade";
  effective: "now" | "period_end";
  /** Minor units; 0 for a downgrade. */
  amountDueNow: number;
  currency: string;
  nextInvoiceAmount: number;
  /** ISO 8601, UTC */
  nextInvoiceAt: string;
  includedUnits: number;
  lines: {
    description: string;
    amount: number;
  }[];
  source: "stigg" | "stripe" | "local";
  /** Unix seconds the proration is computed at; send it with the upgrade to be charged exactly this. */
  prorationDate: number;
};

export type PlanCodeBody = {
  /** A plan of the catalog (`GET /api/v1/plans`). */
  planCode: string;
  /** How often Stripe bills the plan: `month` or `year` (the plan's yearly price; its included units still reset every month on the subscription's anniversary day, and no overage is sold on it). Omitted, a plan change keeps the current interval and a checkout bills monthly. */
  interval?: "month" | "year";
};

export type PlanList = {
  plans: {
    /** A plan of the catalog (`GET /api/v1/plans`). */
    code: string;
    name: string;
    /** Minor units (cents). */
    priceMonthly: number;
    /** Minor units (cents); null when the plan is sold monthly only. */
    priceYearly: number | null;
    currency: string;
    /** Included units per metered feature and month. */
    includedUnits: Record<string, number>;
    trialDays: number | null;
  }[];
};

export type QuotaSummary = {
  /** `remaining > 0`. Checking is never denied; recording is. */
  allow: boolean;
  remaining: number;
  used: number;
  included: number;
  /** A metered feature of the catalog (`GET /api/v1/entitlements` lists the org's). */
  metric: string;
  /** `YYYY-MM` of the period start (UTC) */
  periodKey: string;
  /** ISO 8601, UTC */
  periodStart: string;
  /** ISO 8601, UTC */
  periodEnd: string;
  planCode: string;
  /** The subscription status (trialing, active, past_due inside grace). */
  status: string;
};

export type RedirectUrl = {
  url: string;
};

export type RevokedApiKey = {
  id: string;
  /** ISO 8601, UTC */
  revokedAt: string;
};

export type SubscriptionOverview = {
  subscription: {
    orgId: string;
    planCode: string;
    status: string;
    /** ISO 8601, UTC */
    periodStart: string;
    /** ISO 8601, UTC */
    periodEnd: string;
    /** ISO 8601, UTC */
    trialEnd: string | null;
    cancelAtPeriodEnd: boolean;
    /** A downgrade scheduled for the period end. */
    pendingPlanCode: string | null;
    /** How often Stripe bills it; the period above is Stripe's (a year for a yearly plan), the included units reset monthly either way. */
    interval: "month" | "year";
  } | null;
  usage: {
    /** `remaining > 0`. Checking is never denied; recording is. */
    allow: boolean;
    remaining: number;
    used: number;
    included: number;
    /** A metered feature of the catalog (`GET /api/v1/entitlements` lists the org's). */
    metric: string;
    /** `YYYY-MM` of the period start (UTC) */
    periodKey: string;
    /** ISO 8601, UTC */
    periodStart: string;
    /** ISO 8601, UTC */
    periodEnd: string;
    planCode: string;
    /** The subscription status (trialing, active, past_due inside grace). */
    status: string;
  } | null;
};

export type SubscriptionSummary = {
  orgId: string;
  planCode: string;
  status: string;
  /** ISO 8601, UTC */
  periodStart: string;
  /** ISO 8601, UTC */
  periodEnd: string;
  /** ISO 8601, UTC */
  trialEnd: string | null;
  cancelAtPeriodEnd: boolean;
  /** A downgrade scheduled for the period end. */
  pendingPlanCode: string | null;
  /** How often Stripe bills it; the period above is Stripe's (a year for a yearly plan), the included units reset monthly either way. */
  interval: "month" | "year";
};

export type TopUp = {
  /** `granted`: the saved card was charged and `grant` holds the credits (201). `pending`: Stripe took the payment but confirms it later (a bank debit; 202): the credits are granted when it does — poll `GET /api/v1/invoices` for `invoiceId` to be `paid`. `checkout`: no saved card; send the person to `checkoutUrl` (200) — the credits are granted when Stripe confirms the payment. */
  status: "granted" | "pending" | "checkout";
  metric: string;
  packs: number;
  /** Units bought: the pack's units × packs. */
  units: number;
  /** The price: the pack's price × packs, in minor units. */
  amountCents: number;
  currency: string;
  /** The Stripe invoice that charged the card (`granted`, `pending`). */
  invoiceId?: string;
  grant?: {
    id: string;
    metric: string;
    /** Units granted. */
    units: number;
    /** Units not yet spent (spent after the plan's included units, before overage). */
    remaining: number;
    /** What bought it: a top-up, or an auto top-up. */
    source: "top_up" | "auto_top_up";
    /** The Stripe invoice (`in_…`) or Checkout Session (`cs_…`) that paid for it. */
    sourceId: string;
    amountCents: number;
    currency: string;
    /** ISO 8601, UTC */
    grantedAt: string;
    /** 12 months after `grantedAt`; unspent units expire then. */
    expiresAt: string;
  };
  checkoutUrl?: string;
  /** The Checkout Session (`checkout`); its payment grants the credits once. */
  sessionId?: string;
};

export type TopUpBody = {
  /** A metered feature the catalog sells a top-up pack of (the catalog's `topUps`). */
  metric: string;
  /** How many packs, 1 to 100: units and price are the pack's times this. */
  packs: number;
};

export type UpgradeBody = {
  /** A plan of the catalog (`GET /api/v1/plans`). */
  planCode: string;
  /** How often Stripe bills the plan: `month` or `year` (the plan's yearly price; its included units still reset every month on the subscription's anniversary day, and no overage is sold on it). Omitted, a plan change keeps the current interval and a checkout bills monthly. */
  interval?: "month" | "year";
  /** The `prorationDate` of the preview the customer saw (Unix seconds); older than 5 minutes is `PREVIEW_EXPIRED`. */
  prorationDate?: number;
};

export type UsageAnswer =
  | {
      request_id: string;
      /** A metered feature of the catalog (`GET /api/v1/entitlements` lists the org's). */
      metric: string;
      quantity: number;
      used: number;
      remaining: number;
      included: number;
      /** `YYYY-MM` of the period start (UTC) */
      periodKey: string;
      /** ISO 8601, UTC */
      recordedAt: string;
    }
  | {
      request_id: string;
      /** Per feature recorded: its quantity and its counter after this request. */
      features: Record<
        string,
        {
          quantity: number;
          used: number;
          remaining: number;
          included: number;
        }
      >;
      /** `YYYY-MM` of the period start (UTC) */
      periodKey: string;
      /** ISO 8601, UTC */
      recordedAt: string;
    };

export type UsageBody = {
  /** Idempotency key: the usage is counted once per (org, request_id). */
  request_id: string;
  /** The metered feature to record; default `api_call`. Not with `quantities`. */
  metric?: string;
  /** Units to record; default 1. Not with `quantities`. */
  quantity?: number;
  /** Several features at once (1 to 16), admitted whole or denied whole: units per metered feature. Instead of `metric` and `quantity`. */
  quantities?: Record<string, number>;
};

export type WebhookDeliveryList = {
  deliveries: {
    id: string;
    endpointId: string;
    url: string;
    eventId: string;
    eventType: string;
    status: string;
    attempts: number;
    /** ISO 8601, UTC */
    nextAttemptAt: string | null;
    lastResponseCode: number | null;
    /** ISO 8601, UTC */
    createdAt: string;
    log: {
      attempt: number;
      /** ISO 8601, UTC */
      at: string;
      succeeded: boolean;
      responseCode: number | null;
      latencyMs: number | null;
      /** The first 1 KB of the endpoint's answer. */
      responseBody: string | null;
      error: string | null;
    }[];
  }[];
};

export type WebhookDeliveryRetried = {
  id: string;
  status: string;
};

export type WebhookEndpointInput = {
  /** https only in production; no private, loopback or link-local address. */
  url: string;
  eventTypes: (
    | "usage.threshold_reached"
    | "subscription.trial_will_end"
    | "subscription.updated"
    | "subscription.downgrade_scheduled"
    | "subscription.downgrade_canceled"
    | "invoice.paid"
    | "invoice.payment_failed"
    | "credits.granted"
    | "auto_top_up.failed"
    | "api_key.created"
    | "api_key.revoked"
    | "webhook_endpoint.disabled"
  )[];
};

export type WebhookEndpointList = {
  endpoints: {
    id: string;
    url: string;
    eventTypes: string[];
    enabled: boolean;
    disabledReason: string | null;
    /** ISO 8601, UTC */
    createdAt: string;
  }[];
  eventTypes: string[];
};

export type WebhookTestSent = {
  deliveryId: string;
};
