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
  "SPEND_CAP_REACHED",
  "RATE_LIMITED",
  "INTERNAL",
  "UPSTREAM_UNAVAILABLE",
  "SERVICE_UNAVAILABLE",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ApiKey = {
  id: string;
  name: string;
  prefix: string;
  /** ISO 8601, UTC */
  createdAt: string;
  /** ISO 8601, UTC */
  lastUsedAt: string | null;
  /** ISO 8601, UTC */
  revokedAt: string | null;
  /** The key's own limits; `null`: the org's default applies; `[]`: none. */
  rateLimits:
    | {
        /** Requests admitted per window. */
        limit: number;
        /** The window's length; windows start at multiples of it since the Unix epoch (UTC). */
        windowSeconds: number;
      }[]
    | null;
  /** ISO 8601, UTC */
  expiresAt: string | null;
  /** After a roll, until when the replaced secret still works (null: it does not). */
  previousSecretValidUntil: string | null;
};

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
    /** The key's own limits; `null`: the org's default applies; `[]`: none. */
    rateLimits:
      | {
          /** Requests admitted per window. */
          limit: number;
          /** The window's length; windows start at multiples of it since the Unix epoch (UTC). */
          windowSeconds: number;
        }[]
      | null;
    /** ISO 8601, UTC */
    expiresAt: string | null;
    /** After a roll, until when the replaced secret still works (null: it does not). */
    previousSecretValidUntil: string | null;
  }[];
};

export type AutoTopUpBody = {
  /** A metered feature of the catalog (`GET /api/v1/entitlements` lists the org's). */
  metric: string;
  /** Buy when an admission leaves fewer than this many credits of the metric (it was at least this many before). */
  below: number;
  /** How many of the metric's top-up packs to buy. */
  packs: number;
  /** False keeps the setting but buys nothing. */
  enabled: boolean;
};

export type AutoTopUpSettings = {
  settings: {
    /** A metered feature of the catalog (`GET /api/v1/entitlements` lists the org's). */
    metric: string;
    below: number;
    packs: number;
    enabled: boolean;
    /** Units of one pack of the metric (the catalog's top-up). */
    packUnits: number;
    /** Price of one pack, in cents. */
    packPriceCents: number;
    /** ISO 8601, UTC */
    updatedAt: string;
  }[];
};

export type CreatedApiKey = {
  id: string;
  name: string;
  prefix: string;
  /** ISO 8601, UTC */
  createdAt: string;
  /** ISO 8601, UTC */
  lastUsedAt: string | null;
  /** ISO 8601, UTC */
  revokedAt: string | null;
  /** The key's own limits; `null`: the org's default applies; `[]`: none. */
  rateLimits:
    | {
        /** Requests admitted per window. */
        limit: number;
        /** The window's length; windows start at multiples of it since the Unix epoch (UTC). */
        windowSeconds: number;
      }[]
    | null;
  /** ISO 8601, UTC */
  expiresAt: string | null;
  /** After a roll, until when the replaced secret still works (null: it does not). */
  previousSecretValidUntil: string | null;
  /** The plaintext key (`mk_live_…` or `mk_test_…`), shown only in this answer. */
  key: string;
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
  /** The key's own limits; `null` (the default): the org's default limits apply; `[]`: no limits, whatever the default. */
  rateLimits?:
    | {
        /** Requests admitted per window. */
        limit: number;
        /** The window's length; windows start at multiples of it since the Unix epoch (UTC). */
        windowSeconds: number;
      }[]
    | null;
  /** When the key stops working (ISO 8601, in the future); `null`: never. An expired key is refused as a revoked one is. */
  expiresAt?: string | null;
};

export type DefaultRateLimits = {
  /** The limits of the org's keys that carry none of their own (null: none). */
  rateLimits:
    | {
        /** Requests admitted per window. */
        limit: number;
        /** The window's length; windows start at multiples of it since the Unix epoch (UTC). */
        windowSeconds: number;
      }[]
    | null;
};

export type DefaultRateLimitsBody = {
  /** The limits of the org's keys that carry none of their own; `null` or `[]`: none. */
  rateLimits:
    | {
        /** Requests admitted per window. */
        limit: number;
        /** The window's length; windows start at multiples of it since the Unix epoch (UTC). */
        windowSeconds: number;
      }[]
    | null;
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
      /** Included units left plus the prepaid credits of the feature left (as the quota check). */
      remaining: number;
      /** `remaining > 0`, or overage is sold and one more unit fits under the spend cap: recording this feature would be admitted now. */
      allow: boolean;
      /** Prepaid credits of the feature: left, and spent this period. */
      credits: {
        remaining: number;
        usedThisPeriod: number;
      };
      /** What the plan sells past the included units and credits, and this period's so far; null: a hard stop. */
      overage: {
        priceCents: number;
        per: number;
        unitsSoFar: number;
        chargeCents: number;
      } | null;
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
        /** Included units left plus the prepaid credits of the feature left (as the quota check). */
        remaining: number;
        /** `remaining > 0`, or overage is sold and one more unit fits under the spend cap: recording this feature would be admitted now. */
        allow: boolean;
        /** Prepaid credits of the feature: left, and spent this period. */
        credits: {
          remaining: number;
          usedThisPeriod: number;
        };
        /** What the plan sells past the included units and credits, and this period's so far; null: a hard stop. */
        overage: {
          priceCents: number;
          per: number;
          unitsSoFar: number;
          chargeCents: number;
        } | null;
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
    /** One of VALIDATION_FAILED, MALFORMED_JSON, UNAUTHENTICATED, SUBSCRIPTION_INACTIVE, PAYMENT_FAILED, FORBIDDEN, FEATURE_NOT_IN_PLAN, NOT_FOUND, METHOD_NOT_ALLOWED, IDEMPOTENCY_CONFLICT, PREVIEW_EXPIRED, PAYLOAD_TOO_LARGE, QUOTA_EXCEEDED, SPEND_CAP_REACHED, RATE_LIMITED, INTERNAL, UPSTREAM_UNAVAILABLE, SERVICE_UNAVAILABLE; new codes may be added (act on the HTTP status). */
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
  /** Whose figures: Stripe's proration preview, or our own for a downgrade or the end of a trial. Every amount is Stripe's or the catalog's, never Stigg's. */
  source: "stripe" | "local";
  /** What Stigg says of the change besides money (whether it sees a downgrade, and updates already scheduled), when Stigg is configured and answered within 500 ms; null otherwise. */
  stigg: {
    isPlanDowngrade: boolean;
    hasScheduledUpdates: boolean;
  } | null;
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
  /** `remaining > 0`, or overage is sold and one more unit fits under the spend cap: recording one unit would be admitted now. Checking is never denied; recording is. */
  allow: boolean;
  /** Included units left plus the org's prepaid credits of the metric left (overage not counted). */
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
  /** Prepaid credits, spent after the included units and before overage. */
  credits: {
    /** Unexpired prepaid credits of the metric (they carry over between periods). */
    remaining: number;
    /** Units paid with credits this period (part of `used`). */
    usedThisPeriod: number;
  };
  /** Overage past the included units and credits; null when the plan sells none of this metric (a hard stop). The spend cap and the org's overage charge over all its features: `GET /api/v1/billing/spend-cap`. */
  overage: {
    priceCents: number;
    per: number;
    /** Units admitted as overage this period (part of `used`). */
    unitsSoFar: number;
    /** This metric's overage charge so far: round_half_up(unitsSoFar × priceCents / per). */
    chargeCents: number;
  } | null;
};

export type RedirectUrl = {
  url: string;
};

export type RevokedApiKey = {
  id: string;
  /** ISO 8601, UTC */
  revokedAt: string;
};

export type RolledApiKey = {
  id: string;
  name: string;
  prefix: string;
  /** ISO 8601, UTC */
  createdAt: string;
  /** ISO 8601, UTC */
  lastUsedAt: string | null;
  /** ISO 8601, UTC */
  revokedAt: string | null;
  /** The key's own limits; `null`: the org's default applies; `[]`: none. */
  rateLimits:
    | {
        /** Requests admitted per window. */
        limit: number;
        /** The window's length; windows start at multiples of it since the Unix epoch (UTC). */
        windowSeconds: number;
      }[]
    | null;
  /** ISO 8601, UTC */
  expiresAt: string | null;
  /** After a roll, until when the replaced secret still works (null: it does not). */
  previousSecretValidUntil: string | null;
  /** The plaintext key (`mk_live_…` or `mk_test_…`), shown only in this answer. */
  key: string;
};

export type RollKeyBody = {
  /** How long the old secret keeps working, in seconds (default 86400, 24 h; 0: it stops at once; at most 7 days). */
  gracePeriodSeconds?: number;
};

export type SpendCap = {
  /** The cap in force, in cents; null: no cap (chosen explicitly). */
  amountCents: number | null;
  /** False while the org has not chosen one: the default is the monthly price of its plan (overage at most doubles the bill). */
  chosen: boolean;
  /** The org's overage charge so far this period, over all its metered features (the rounding rule in docs/api.md). */
  overageCents: number;
  currency: string;
};

export type SpendCapBody = {
  /** The monthly overage cap in cents (0 to 100000000; 0: no overage at all), or null for no cap, chosen explicitly. */
  amountCents: number | null;
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
    /** How often the plan of the scheduled change bills (null: none scheduled): a yearly plan's move to a monthly one shows here. */
    pendingInterval: "month" | "year" | null;
    /** How often Stripe bills it; the period above is Stripe's (a year for a yearly plan), the included units reset monthly either way. */
    interval: "month" | "year";
  } | null;
  usage: {
    /** `remaining > 0`, or overage is sold and one more unit fits under the spend cap: recording one unit would be admitted now. Checking is never denied; recording is. */
    allow: boolean;
    /** Included units left plus the org's prepaid credits of the metric left (overage not counted). */
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
    /** Prepaid credits, spent after the included units and before overage. */
    credits: {
      /** Unexpired prepaid credits of the metric (they carry over between periods). */
      remaining: number;
      /** Units paid with credits this period (part of `used`). */
      usedThisPeriod: number;
    };
    /** Overage past the included units and credits; null when the plan sells none of this metric (a hard stop). The spend cap and the org's overage charge over all its features: `GET /api/v1/billing/spend-cap`. */
    overage: {
      priceCents: number;
      per: number;
      /** Units admitted as overage this period (part of `used`). */
      unitsSoFar: number;
      /** This metric's overage charge so far: round_half_up(unitsSoFar × priceCents / per). */
      chargeCents: number;
    } | null;
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
  /** How often the plan of the scheduled change bills (null: none scheduled): a yearly plan's move to a monthly one shows here. */
  pendingInterval: "month" | "year" | null;
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

export type UpdateKeyBody = {
  name?: string;
  /** The key's own limits; `null` (the default): the org's default limits apply; `[]`: no limits, whatever the default. */
  rateLimits?:
    | {
        /** Requests admitted per window. */
        limit: number;
        /** The window's length; windows start at multiples of it since the Unix epoch (UTC). */
        windowSeconds: number;
      }[]
    | null;
  /** When the key stops working (ISO 8601, in the future); `null`: never. An expired key is refused as a revoked one is. */
  expiresAt?: string | null;
};

export type UpgradeBody = {
  /** A plan of the catalog (`GET /api/v1/plans`). */
  planCode: string;
  /** How often Stripe bills the plan: `month` or `year` (the plan's yearly price; its included units still reset every month on the subscription's anniversary day, and no overage is sold on it). Omitted, a plan change keeps the current interval and a checkout bills monthly. */
  interval?: "month" | "year";
  /** The `prorationDate` of the preview the customer saw (Unix seconds); older than 5 minutes is `PREVIEW_EXPIRED`. */
  prorationDate?: number;
};

export type UsageAlertBody = {
  /** A metered feature of the catalog. */
  metric: string;
  /** Percents of the included units that emit `usage.threshold_reached` (default [80, 100]); up to 10, each 1 to 1000; [] for none. */
  percents: number[];
  /** Emit `credits.low` when an admission leaves fewer prepaid credits of the feature than this (it left at least this many before); null: never. */
  creditsBelow: number | null;
  /** Emit `overage.threshold_reached` when the feature's overage charge this period goes above this many cents; null: never. */
  overageAboveCents: number | null;
};

export type UsageAlerts = {
  alerts: {
    /** A metered feature of the catalog (`GET /api/v1/entitlements` lists the org's). */
    metric: string;
    percents: number[];
    creditsBelow: number | null;
    overageAboveCents: number | null;
    /** False: the defaults (80% and 100%, nothing else). */
    custom: boolean;
  }[];
};

export type UsageAnswer =
  | {
      request_id: string;
      /** A metered feature of the catalog (`GET /api/v1/entitlements` lists the org's). */
      metric: string;
      quantity: number;
      /** Units admitted this period: included, credit and overage units alike. */
      used: number;
      /** Included units left (`included - used`, at least 0); the credits left are in the quota check. */
      remaining: number;
      included: number;
      /** `YYYY-MM` of the period start (UTC) */
      periodKey: string;
      /** ISO 8601, UTC */
      recordedAt: string;
      /** How this request's `quantity` was admitted, in the order of spending: the included units, then prepaid credits, then overage (the three add up to `quantity`). A replay answers the original split. */
      admittedAs: {
        /** Units taken from the plan's included units. */
        included: number;
        /** Units paid with prepaid credits (never billed again). */
        credits: number;
        /** Units past the included units and the credits, billed at the plan's overage price. */
        overage: number;
      };
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
          /** How this request's `quantity` was admitted, in the order of spending: the included units, then prepaid credits, then overage (the three add up to `quantity`). A replay answers the original split. */
          admittedAs: {
            /** Units taken from the plan's included units. */
            included: number;
            /** Units paid with prepaid credits (never billed again). */
            credits: number;
            /** Units past the included units and the credits, billed at the plan's overage price. */
            overage: number;
          };
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

export type UsageHistory = {
  /** The range as answered: the start of its first bucket (offset of `tz`) */
  from: string;
  /** The end of its last bucket, exclusive */
  to: string;
  granularity: "hour" | "day" | "month";
  groupBy: "metric" | "key";
  tz: string;
  /** One series per metric (or metric and key) with usage in the range, sorted by metric then key */
  series: {
    /** A metered feature of the catalog (`GET /api/v1/entitlements` lists the org's). */
    metric: string;
    /** With `groupBy=key`: the API key; `null` for usage recorded without one */
    keyId?: string | null;
    /** The sum of the points */
    total: number;
    /** Every bucket of the range, in order; quiet buckets are 0 */
    points: {
      /** The bucket's start, ISO 8601 with the offset of `tz` at that instant */
      start: string;
      quantity: number;
    }[];
  }[];
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
    | "usage.overage_started"
    | "spend_cap.reached"
    | "subscription.trial_will_end"
    | "subscription.updated"
    | "subscription.downgrade_scheduled"
    | "subscription.downgrade_canceled"
    | "invoice.paid"
    | "invoice.payment_failed"
    | "credits.granted"
    | "credits.low"
    | "overage.threshold_reached"
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
