// The API's contract in Zod: what each /api/v1 route accepts (the routes parse with these) and
// what it answers inside the success envelope. The OpenAPI document (openapi/document.server.ts) is made
// from the same schemas, so the published contract cannot drift from the validation.
// It imports only the shared vocabulary: the doc generator loads this without a database.
import { z } from "zod";
import { ID_PATTERN, metric, planCode } from "../domain/vocabulary.server";
import { SUBSCRIBABLE_TYPES } from "./event-schemas.server";

const timestamp = z.string().meta({ format: "date-time", description: "ISO 8601, UTC", examples: ["2026-11-23T10:00:00.123Z"] });
const periodKey = z.string().meta({ description: "`YYYY-MM` of the period start (UTC)", examples: ["2026-11"] });
const count = z.number().int().nonnegative();

// ---- Requests -------------------------------------------------------------------------------

export const quotaQuery = z.object({ metric: metric.default("api_call") }).strict();

// GET /api/v1/usage/history: a range, its buckets and how to group them.
export const HISTORY_GRANULARITIES = ["hour", "day", "month"] as const;
export type HistoryGranularity = (typeof HISTORY_GRANULARITIES)[number];
/** The longest range each granularity answers (days), so one answer is at most ~1,100 points a series. */
export const HISTORY_MAX_DAYS: Record<HistoryGranularity, number> = { hour: 31, day: 400, month: 1100 };
const historyInstant = z
  .string()
  // A time that exists: hours to 23 and minutes and seconds to 59 (Postgres reads 24:00 and :60 as
  // the next day's first instants). Offsets within any zone's, UTC−12:00 to UTC+14:00 (Postgres
  // reads up to ±15:59 and fails past it); any minutes, as the labels of a zone's local mean time
  // (-04:56) are read back.
  .regex(
    /^\d{4}-\d{2}-\d{2}(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|\+((0\d|1[0-3]):[0-5]\d|14:00)|-((0\d|1[01]):[0-5]\d|12:00)))?$/,
    "an ISO 8601 date (YYYY-MM-DD) or date-time with Z or an offset (−12:00 to +14:00)",
  );
export const historyQuery = z
  .object({
    from: historyInstant.meta({
      description: "Start of the range: a date-time with `Z` or an offset, or a date (`YYYY-MM-DD`: midnight in `tz`). Widened to the start of its bucket.",
      examples: ["2026-11-01"],
    }),
    to: historyInstant.meta({
      description: "End of the range, exclusive: as `from`. Widened to the end of the bucket holding the instant just before it.",
      examples: ["2026-12-01"],
    }),
    granularity: z.enum(HISTORY_GRANULARITIES).default("day").meta({ description: "Bucket size; default `day`." }),
    groupBy: z.enum(["metric", "key"]).default("metric").meta({ description: "One series per metric (default), or per metric and API key." }),
    tz: z
      .string()
      .max(64)
      .default("UTC")
      .meta({ description: "IANA time zone the day and month buckets follow (`America/New_York`); default `UTC`.", examples: ["Europe/Paris"] }),
    metric: metric.optional().meta({ description: "Only this metered feature (or one an older catalog version metered); default every one." }),
    format: z.enum(["json", "csv"]).optional().meta({ description: "`csv` answers `text/csv` (as `Accept: text/csv` does); default JSON." }),
  })
  .strict();

const usageQuantity = z.number().int().min(1).max(1_000_000);
/** Features one request may record at once. */
export const MAX_USAGE_PARTS = 16;

// One feature (`metric`, `quantity`, defaults api_call and 1), or several at once (`quantities`).
export const usageBody = z
  .object({
    request_id: z
      .string()
      .regex(ID_PATTERN, "1–128 characters of A-Z a-z 0-9 . _ : -")
      .meta({ description: "Idempotency key: the usage is counted once per (org, request_id)." }),
    metric: metric.optional().meta({ description: "The metered feature to record; default `api_call`. Not with `quantities`." }),
    quantity: usageQuantity.optional().meta({ description: "Units to record; default 1. Not with `quantities`." }),
    quantities: z
      .record(metric, usageQuantity)
      .refine((q) => Object.keys(q).length >= 1 && Object.keys(q).length <= MAX_USAGE_PARTS, `1 to ${MAX_USAGE_PARTS} features`)
      .optional()
      .meta({
        description: `Several features at once (1 to ${MAX_USAGE_PARTS}), admitted whole or denied whole: units per metered feature. Instead of \`metric\` and \`quantity\`.`,
        examples: [{ api_call: 1, tokens: 1532 }],
      }),
  })
  .strict()
  .refine((b) => b.quantities === undefined || (b.metric === undefined && b.quantity === undefined), {
    path: ["quantities"],
    message: "give either metric and quantity, or quantities",
  });
export type UsageBody = z.infer<typeof usageBody>;

/** Where a plan is chosen, how often it bills: yearly plans still reset their included units every month. */
export const billingInterval = z.enum(["month", "year"]).meta({
  description:
    "How often Stripe bills the plan: `month` or `year` (the plan's yearly price; its included units still reset every month on the subscription's anniversary day, and no overage is sold on it). Omitted, a plan change keeps the current interval and a checkout bills monthly.",
});
/** The body of the billing routes that name a plan: `{ planCode, interval? }`, nothing else. */
export const planCodeBody = z.object({ planCode, interval: billingInterval.optional() }).strict();
/** An upgrade may carry the preview's prorationDate, to be charged exactly what the preview showed. */
export const upgradeBody = planCodeBody
  .extend({
    prorationDate: z
      .number()
      .int()
      .positive()
      .optional()
      .meta({ description: "The `prorationDate` of the preview the customer saw (Unix seconds); older than 5 minutes is `PREVIEW_EXPIRED`." }),
  })
  .strict();

/** The largest spend cap an admin may set: $1,000,000 a month in cents (a typo guard, not a policy). */
export const MAX_SPEND_CAP_CENTS = 100_000_000;
export const spendCapBody = z
  .object({
    amountCents: z
      .number()
      .int()
      .min(0)
      .max(MAX_SPEND_CAP_CENTS)
      .nullable()
      .meta({
        description: `The monthly overage cap in cents (0 to ${MAX_SPEND_CAP_CENTS}; 0: no overage at all), or null for no cap, chosen explicitly.`,
        examples: [20000],
      }),
  })
  .strict();

/** The most packs one auto top-up buys, and the highest threshold: typo guards. */
export const MAX_AUTO_TOP_UP_PACKS = 100;
export const MAX_AUTO_TOP_UP_BELOW = 1_000_000_000_000;
export const autoTopUpBody = z
  .object({
    metric,
    below: z
      .number()
      .int()
      .min(1)
      .max(MAX_AUTO_TOP_UP_BELOW)
      .meta({ description: "Buy when an admission leaves fewer than this many credits of the metric (it was at least this many before)." }),
    packs: z.number().int().min(1).max(MAX_AUTO_TOP_UP_PACKS).meta({ description: "How many of the metric's top-up packs to buy." }),
    enabled: z.boolean().meta({ description: "False keeps the setting but buys nothing." }),
  })
  .strict();

/** How many rate limits a key (or an org's default) may carry, and each one's bounds. */
export const RATE_LIMIT_BOUNDS = { maxEntries: 5, maxLimit: 1_000_000, maxWindowSeconds: 86_400 } as const;
/** The longest grace a rolled key's old secret may get: 7 days. */
export const MAX_ROLL_GRACE_SECONDS = 604_800;

// Each rule says what it wants in words a person can act on: the API's VALIDATION_FAILED and the
// portal's key forms show these same messages.
const LIMIT_RULE = `must be a whole number from 1 to ${RATE_LIMIT_BOUNDS.maxLimit.toLocaleString("en-US")}`;
const WINDOW_RULE = `must be a whole number of seconds from 1 to ${RATE_LIMIT_BOUNDS.maxWindowSeconds.toLocaleString("en-US")}`;
/** A whole number from 1 to `max`; every way of missing it answers `rule`. */
const oneTo = (max: number, rule: string) => z.number({ error: rule }).int(rule).min(1, rule).max(max, rule);
export const rateLimit = z
  .object({
    limit: oneTo(RATE_LIMIT_BOUNDS.maxLimit, LIMIT_RULE).meta({ description: "Requests admitted per window." }),
    windowSeconds: oneTo(RATE_LIMIT_BOUNDS.maxWindowSeconds, WINDOW_RULE).meta({
      description: "The window's length; windows start at multiples of it since the Unix epoch (UTC).",
    }),
  })
  .strict();
export const rateLimits = z
  .array(rateLimit)
  .max(RATE_LIMIT_BOUNDS.maxEntries, `at most ${RATE_LIMIT_BOUNDS.maxEntries} limits`)
  .refine((ls) => new Set(ls.map((l) => l.windowSeconds)).size === ls.length, "one limit per window: two limits have the same windowSeconds")
  .meta({
    description: `At most ${RATE_LIMIT_BOUNDS.maxEntries} limits, each on a different window (1 to ${RATE_LIMIT_BOUNDS.maxWindowSeconds} s, 1 to ${RATE_LIMIT_BOUNDS.maxLimit} requests); a request must fit in every one.`,
  });
// Shown in lists next to other keys' names: no control characters and no bidirectional
// overrides or isolates, which make a name read as another one (U+202E turns "yek-dab" around).
const keyName = z
  .string()
  .trim()
  .min(1)
  .max(60)
  .refine((name) => !/[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(name), "no control characters or text-direction overrides");
const keyRateLimits = rateLimits.nullable().meta({
  description: "The key's own limits; `null` (the default): the org's default limits apply; `[]`: no limits, whatever the default.",
});
// The last instant Postgres and JavaScript both write as a four-digit year: later, a Date's ISO
// form is "+010000-…", which Postgres cannot read (a 500 before this bound).
const LAST_EXPIRY_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const futureExpiry = z.iso
  .datetime({ offset: true })
  .refine((t) => Date.parse(t) > Date.now(), "must be in the future")
  .refine((t) => Date.parse(t) <= LAST_EXPIRY_MS, "must be before the year 10000 (UTC)")
  .transform((t) => new Date(t))
  .nullable()
  .meta({ description: "When the key stops working (ISO 8601, in the future); `null`: never. An expired key is refused as a revoked one is." });

export const createKeyBody = z.object({ name: keyName, rateLimits: keyRateLimits.optional(), expiresAt: futureExpiry.optional() }).strict();
/** A key's name alone, as the portal's forms read it. */
export const keyNameBody = z.object({ name: keyName });
export const updateKeyBody = z
  .object({ name: keyName.optional(), rateLimits: keyRateLimits.optional(), expiresAt: futureExpiry.optional() })
  .strict()
  .refine((b) => b.name !== undefined || b.rateLimits !== undefined || b.expiresAt !== undefined, "name, rateLimits or expiresAt");
export const rollKeyBody = z
  .object({
    gracePeriodSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_ROLL_GRACE_SECONDS)
      .default(86_400)
      .meta({ description: "How long the old secret keeps working, in seconds (default 86400, 24 h; 0: it stops at once; at most 7 days)." }),
  })
  .strict();
export const defaultRateLimitsBody = z
  .object({ rateLimits: rateLimits.nullable().meta({ description: "The limits of the org's keys that carry none of their own; `null` or `[]`: none." }) })
  .strict();

export const idempotencyKey = z
  .string()
  .regex(ID_PATTERN)
  .meta({ description: "Makes a retry of the same call charge nothing more (1–128 of A-Z a-z 0-9 . _ : -)." });

// ---- Answers (the `data` of the success envelope) -------------------------------------------

export const quotaSummary = z.object({
  allow: z.boolean().meta({
    description:
      "`remaining > 0`, or overage is sold and one more unit fits under the spend cap: recording one unit would be admitted now. Checking is never denied; recording is.",
  }),
  remaining: count.meta({ description: "Included units left plus the org's prepaid credits of the metric left (overage not counted)." }),
  used: count,
  included: count,
  metric,
  periodKey,
  periodStart: timestamp,
  periodEnd: timestamp,
  planCode: z.string(),
  status: z.string().meta({ description: "The subscription status (trialing, active, past_due inside grace)." }),
  credits: z
    .object({
      remaining: count.meta({ description: "Unexpired prepaid credits of the metric (they carry over between periods)." }),
      usedThisPeriod: count.meta({ description: "Units paid with credits this period (part of `used`)." }),
    })
    .meta({ description: "Prepaid credits, spent after the included units and before overage." }),
  overage: z
    .object({
      priceCents: count,
      per: z.number().int().positive(),
      unitsSoFar: count.meta({ description: "Units admitted as overage this period (part of `used`)." }),
      chargeCents: count.meta({ description: "This metric's overage charge so far: round_half_up(unitsSoFar × priceCents / per)." }),
    })
    .nullable()
    .meta({
      description:
        "Overage past the included units and credits; null when the plan sells none of this metric (a hard stop). The spend cap and the org's overage charge over all its features: `GET /api/v1/billing/spend-cap`.",
    }),
});

const admittedUnits = z
  .object({
    included: count.meta({ description: "Units taken from the plan's included units." }),
    credits: count.meta({ description: "Units paid with prepaid credits (never billed again)." }),
    overage: count.meta({ description: "Units past the included units and the credits, billed at the plan's overage price." }),
  })
  .meta({
    description:
      "How this request's `quantity` was admitted, in the order of spending: the included units, then prepaid credits, then overage (the three add up to `quantity`). A replay answers the original split.",
  });

export const usageRecord = z.object({
  request_id: z.string(),
  metric,
  quantity: z.number().int().positive(),
  used: count.meta({ description: "Units admitted this period: included, credit and overage units alike." }),
  remaining: count.meta({ description: "Included units left (`included - used`, at least 0); the credits left are in the quota check." }),
  included: count,
  periodKey,
  recordedAt: timestamp,
  admittedAs: admittedUnits,
});

const featureUsage = z.object({ quantity: z.number().int().positive(), used: count, remaining: count, included: count, admittedAs: admittedUnits });
export const usageRecordParts = z.object({
  request_id: z.string(),
  features: z.record(metric, featureUsage).meta({ description: "Per feature recorded: its quantity and its counter after this request." }),
  periodKey,
  recordedAt: timestamp,
});
/** What POST /api/v1/usage answers: one feature's record, or (for `quantities`) each feature's. */
export const usageAnswer = z.union([usageRecord, usageRecordParts]);

const historyPoint = z.object({
  start: z.string().meta({ description: "The bucket's start, ISO 8601 with the offset of `tz` at that instant", examples: ["2026-11-01T00:00:00-04:00"] }),
  quantity: count,
});
export const usageHistory = z.object({
  from: z.string().meta({ description: "The range as answered: the start of its first bucket (offset of `tz`)" }),
  to: z.string().meta({ description: "The end of its last bucket, exclusive" }),
  granularity: z.enum(HISTORY_GRANULARITIES),
  groupBy: z.enum(["metric", "key"]),
  tz: z.string(),
  series: z
    .array(
      z.object({
        metric,
        keyId: z.string().nullable().optional().meta({ description: "With `groupBy=key`: the API key; `null` for usage recorded without one" }),
        total: count.meta({ description: "The sum of the points" }),
        points: z.array(historyPoint).meta({ description: "Every bucket of the range, in order; quiet buckets are 0" }),
      }),
    )
    .meta({ description: "One series per metric (or metric and key) with usage in the range, sorted by metric then key" }),
});

export const plan = z.object({
  code: planCode,
  name: z.string(),
  priceMonthly: count.meta({ description: "Minor units (cents)." }),
  priceYearly: count.nullable().meta({ description: "Minor units (cents); null when the plan is sold monthly only." }),
  currency: z.string().meta({ examples: ["usd"] }),
  includedUnits: z.record(z.string(), count).meta({ description: "Included units per metered feature and month." }),
  trialDays: z.number().int().positive().nullable(),
});
export const planList = z.object({ plans: z.array(plan) });

export const subscriptionSummary = z.object({
  orgId: z.string(),
  planCode: z.string(),
  status: z.string(),
  periodStart: timestamp,
  periodEnd: timestamp,
  trialEnd: timestamp.nullable(),
  cancelAtPeriodEnd: z.boolean(),
  pendingPlanCode: z.string().nullable().meta({ description: "A downgrade scheduled for the period end." }),
  pendingInterval: z
    .enum(["month", "year"])
    .nullable()
    .meta({ description: "How often the plan of the scheduled change bills (null: none scheduled): a yearly plan's move to a monthly one shows here." }),
  interval: z
    .enum(["month", "year"])
    .meta({ description: "How often Stripe bills it; the period above is Stripe's (a year for a yearly plan), the included units reset monthly either way." }),
});

export const subscriptionOverview = z.object({ subscription: subscriptionSummary.nullable(), usage: quotaSummary.nullable() });

export const planChangePreview = z.object({
  from: planCode,
  to: planCode,
  interval: z.enum(["month", "year"]).meta({ description: "How often the new plan bills." }),
  change: z.enum(["upgrade", "downgrade"]),
  effective: z.enum(["now", "period_end"]),
  amountDueNow: z.number().int().meta({ description: "Minor units; 0 for a downgrade." }),
  currency: z.string(),
  nextInvoiceAmount: z.number().int(),
  nextInvoiceAt: timestamp,
  includedUnits: count,
  lines: z.array(z.object({ description: z.string(), amount: z.number().int() })),
  source: z.enum(["stripe", "local"]).meta({
    description:
      "Whose figures: Stripe's proration preview, or our own for a downgrade or the end of a trial. Every amount is Stripe's or the catalog's, never Stigg's.",
  }),
  stigg: z
    .object({
      isPlanDowngrade: z.boolean(),
      hasScheduledUpdates: z.boolean(),
    })
    .nullable()
    .meta({
      description:
        "What Stigg says of the change besides money (whether it sees a downgrade, and updates already scheduled), when Stigg is configured and answered within 500 ms; null otherwise.",
    }),
  prorationDate: z.number().int().meta({ description: "Unix seconds the proration is computed at; send it with the upgrade to be charged exactly this." }),
});

export const spendCap = z.object({
  amountCents: count.nullable().meta({ description: "The cap in force, in cents; null: no cap (chosen explicitly)." }),
  chosen: z
    .boolean()
    .meta({ description: "False while the org has not chosen one: the default is the monthly price of its plan (overage at most doubles the bill)." }),
  overageCents: count.meta({ description: "The org's overage charge so far this period, over all its metered features (the rounding rule in docs/api.md)." }),
  currency: z.string().meta({ examples: ["usd"] }),
});

export const autoTopUpSetting = z.object({
  metric,
  below: count,
  packs: z.number().int().positive(),
  enabled: z.boolean(),
  packUnits: count.meta({ description: "Units of one pack of the metric (the catalog's top-up)." }),
  packPriceCents: count.meta({ description: "Price of one pack, in cents." }),
  updatedAt: timestamp,
});
export const autoTopUpSettings = z.object({ settings: z.array(autoTopUpSetting) });

export const redirectUrl = z.object({ url: z.string().meta({ format: "uri" }) });

/** At most this many percent thresholds per feature, each 1..1000 (above 100: into credits and overage). */
export const MAX_ALERT_PERCENTS = 10;
/** The highest credits and overage alert thresholds: typo guards. */
export const MAX_ALERT_CREDITS_BELOW = 1_000_000_000;
export const MAX_ALERT_OVERAGE_CENTS = 100_000_000;

/** One feature's alerts, as the org sets them (PUT /api/v1/alerts and the settings page). */
export const usageAlertBody = z
  .object({
    metric: metric.meta({ description: "A metered feature of the catalog." }),
    percents: z
      .array(z.number().int().min(1).max(1000))
      .max(MAX_ALERT_PERCENTS)
      .refine((p) => new Set(p).size === p.length, "each percent once")
      .meta({
        description: `Percents of the included units that emit \`usage.threshold_reached\` (default [80, 100]); up to ${MAX_ALERT_PERCENTS}, each 1 to 1000; [] for none.`,
        examples: [[50, 80, 100]],
      }),
    creditsBelow: z.number().int().min(1).max(MAX_ALERT_CREDITS_BELOW).nullable().meta({
      description:
        "Emit `credits.low` when an admission leaves fewer prepaid credits of the feature than this (it left at least this many before); null: never.",
    }),
    overageAboveCents: z
      .number()
      .int()
      .min(0)
      .max(MAX_ALERT_OVERAGE_CENTS)
      .nullable()
      .meta({ description: "Emit `overage.threshold_reached` when the feature's overage charge this period goes above this many cents; null: never." }),
  })
  .strict();

export const usageAlert = z.object({
  metric,
  percents: z.array(z.number().int()),
  creditsBelow: count.nullable(),
  overageAboveCents: count.nullable(),
  custom: z.boolean().meta({ description: "False: the defaults (80% and 100%, nothing else)." }),
});
export const usageAlerts = z.object({ alerts: z.array(usageAlert) });

/** The most packs one top-up may buy: a typo (1000 for 10) must not become a large charge. */
export const MAX_TOP_UP_PACKS = 100;

/** A top-up purchase: `packs` packs of the metric's pack (the catalog's `topUps`). */
export const topUpBody = z
  .object({
    metric: metric.meta({ description: "A metered feature the catalog sells a top-up pack of (the catalog's `topUps`)." }),
    packs: z
      .number()
      .int()
      .min(1)
      .max(MAX_TOP_UP_PACKS)
      .meta({ description: `How many packs, 1 to ${MAX_TOP_UP_PACKS}: units and price are the pack's times this.` }),
  })
  .strict();

/** Credits granted to the org (one row per paying Stripe invoice or Checkout Session). */
export const creditGrant = z.object({
  id: z.string(),
  metric: z.string(),
  units: count.meta({ description: "Units granted." }),
  remaining: count.meta({ description: "Units not yet spent (spent after the plan's included units, before overage)." }),
  source: z.enum(["top_up", "auto_top_up"]).meta({ description: "What bought it: a top-up, or an auto top-up." }),
  sourceId: z.string().meta({ description: "The Stripe invoice (`in_…`) or Checkout Session (`cs_…`) that paid for it." }),
  amountCents: count,
  currency: z.string(),
  grantedAt: timestamp,
  expiresAt: timestamp.meta({ description: "12 months after `grantedAt`; unspent units expire then." }),
});

export const topUp = z.object({
  status: z.enum(["granted", "pending", "checkout"]).meta({
    description:
      "`granted`: the saved card was charged and `grant` holds the credits (201). `pending`: Stripe took the payment but confirms it later (a bank debit; 202): the credits are granted when it does — poll `GET /api/v1/invoices` for `invoiceId` to be `paid`. `checkout`: no saved card; send the person to `checkoutUrl` (200) — the credits are granted when Stripe confirms the payment.",
  }),
  metric: z.string(),
  packs: count,
  units: count.meta({ description: "Units bought: the pack's units × packs." }),
  amountCents: count.meta({ description: "The price: the pack's price × packs, in minor units." }),
  currency: z.string(),
  invoiceId: z.string().optional().meta({ description: "The Stripe invoice that charged the card (`granted`, `pending`)." }),
  grant: creditGrant.optional(),
  checkoutUrl: z.string().meta({ format: "uri" }).optional(),
  sessionId: z.string().optional().meta({ description: "The Checkout Session (`checkout`); its payment grants the credits once." }),
});

export const invoice = z.object({
  id: z.string(),
  number: z.string().nullable(),
  status: z.string(),
  amountDue: z.number().int(),
  amountPaid: z.number().int(),
  total: z.number().int(),
  currency: z.string(),
  billingReason: z.string().nullable(),
  periodStart: timestamp.nullable(),
  periodEnd: timestamp.nullable(),
  hostedInvoiceUrl: z.string().nullable(),
  invoicePdf: z.string().nullable(),
  created: timestamp,
});
export const invoiceList = z.object({ invoices: z.array(invoice) });

export const apiKeyListItem = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
  rateLimits: z.array(rateLimit).nullable().meta({ description: "The key's own limits; `null`: the org's default applies; `[]`: none." }),
  expiresAt: timestamp.nullable(),
  previousSecretValidUntil: timestamp.nullable().meta({ description: "After a roll, until when the replaced secret still works (null: it does not)." }),
});
export const apiKeyList = z.object({ keys: z.array(apiKeyListItem) });
export const createdApiKey = apiKeyListItem.extend({
  key: z.string().meta({ description: "The plaintext key (`mk_live_…` or `mk_test_…`), shown only in this answer." }),
});
export const defaultRateLimits = z.object({
  rateLimits: z.array(rateLimit).nullable().meta({ description: "The limits of the org's keys that carry none of their own (null: none)." }),
});
export const revokedApiKey = z.object({ id: z.string(), revokedAt: timestamp });

// ---- Outbound webhooks ---------------------------------------------------------------------

const eventType = z.enum(SUBSCRIBABLE_TYPES as [string, ...string[]]);

/** The longest endpoint URL: 2,000 characters, what browsers and proxies reliably carry. */
export const MAX_WEBHOOK_URL_LENGTH = 2000;
export const webhookEndpointInput = z
  .object({
    url: z.string().trim().max(MAX_WEBHOOK_URL_LENGTH).meta({ description: "https only in production; no private, loopback or link-local address." }),
    eventTypes: z.array(eventType).min(1),
  })
  .strict();

export const webhookEndpoint = z.object({
  id: z.string(),
  url: z.string(),
  eventTypes: z.array(z.string()),
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
  createdAt: timestamp,
});
export const webhookEndpointList = z.object({ endpoints: z.array(webhookEndpoint), eventTypes: z.array(z.string()) });
export const createdWebhookEndpoint = webhookEndpoint.extend({
  secret: z.string().meta({ description: "The `whsec_…` signing secret (Standard Webhooks), shown only in this answer." }),
});
export const deletedWebhookEndpoint = z.object({ id: z.string(), deleted: z.literal(true) });
export const webhookTestSent = z.object({ deliveryId: z.string() });
export const webhookDelivery = z.object({
  id: z.string(),
  endpointId: z.string(),
  url: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.string(),
  attempts: count,
  nextAttemptAt: timestamp.nullable(),
  lastResponseCode: z.number().int().nullable(),
  createdAt: timestamp,
  log: z.array(
    z.object({
      attempt: z.number().int(),
      at: timestamp,
      succeeded: z.boolean(),
      responseCode: z.number().int().nullable(),
      latencyMs: z.number().int().nullable(),
      responseBody: z.string().nullable().meta({ description: "The first 1 KB of the endpoint's answer." }),
      error: z.string().nullable(),
    }),
  ),
});
export const webhookDeliveryList = z.object({ deliveries: z.array(webhookDelivery) });
export const webhookDeliveryRetried = z.object({ id: z.string(), status: z.string() });

// ---- Entitlements (the catalog's features, as the org's plan version grants them) -----------------

const featureName = z.string().meta({ description: "A feature of the catalog.", examples: ["tokens"] });
export const meteredEntitlement = z.object({
  feature: featureName,
  type: z.literal("metered"),
  unit: z.string().meta({ examples: ["token"] }),
  included: count.meta({ description: "Units included this period (0: not in the plan)." }),
  used: count,
  remaining: count.meta({ description: "Included units left plus the prepaid credits of the feature left (as the quota check)." }),
  allow: z
    .boolean()
    .meta({ description: "`remaining > 0`, or overage is sold and one more unit fits under the spend cap: recording this feature would be admitted now." }),
  credits: z.object({ remaining: count, usedThisPeriod: count }).meta({ description: "Prepaid credits of the feature: left, and spent this period." }),
  overage: z
    .object({ priceCents: count, per: z.number().int().positive(), unitsSoFar: count, chargeCents: count })
    .nullable()
    .meta({ description: "What the plan sells past the included units and credits, and this period's so far; null: a hard stop." }),
});
export const booleanEntitlement = z.object({ feature: featureName, type: z.literal("boolean"), granted: z.boolean() });
export const numericEntitlement = z.object({
  feature: featureName,
  type: z.literal("numeric"),
  limit: count.nullable().meta({ description: "The plan's limit; `null` is unlimited (0: not in the plan)." }),
});
export const entitlement = z.union([meteredEntitlement, booleanEntitlement, numericEntitlement]);

export const entitlements = z.object({
  plan: z.object({
    code: z.string(),
    version: z.number().int().positive().meta({ description: "The plan version the subscription was bought on (it keeps its terms until moved)." }),
    interval: z.enum(["month", "year"]),
  }),
  period: z.object({ key: periodKey, start: timestamp, end: timestamp }),
  features: z.array(entitlement),
});
