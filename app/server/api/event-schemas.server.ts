// The events the system emits, one zod schema per type: the contract webhook receivers and the
// emails read (documented in docs/events.md and in the OpenAPI document's webhooks). No imports
// from the rest of the server: the doc generator loads this without a database.
import { z } from "zod";

const iso = z.string().datetime({ offset: true });
const money = { currency: z.string().length(3), hostedInvoiceUrl: z.string().nullable() };

export const eventData = {
  "usage.threshold_reached": z.object({
    metric: z.string(),
    // percent of the included units: 80 and 100 by default, or the ones the org set for the feature
    threshold: z.number().int().min(1),
    used: z.number().int(),
    included: z.number().int(),
    periodStart: iso,
    periodEnd: iso,
  }),
  "usage.overage_started": z.object({
    metric: z.string(),
    included: z.number().int(),
    overagePriceCents: z.number().int(),
    overagePer: z.number().int(),
    periodStart: iso,
    periodEnd: iso,
  }),
  "spend_cap.reached": z.object({
    metric: z.string(),
    capCents: z.number().int(),
    overageCents: z.number().int(),
    currency: z.string().length(3),
    periodStart: iso,
  }),
  "subscription.trial_will_end": z.object({ planCode: z.string(), trialEnd: iso }),
  "subscription.updated": z.object({ planCode: z.string(), previousPlanCode: z.string(), status: z.string(), periodStart: iso, periodEnd: iso }),
  "subscription.downgrade_scheduled": z.object({ planCode: z.string(), toPlanCode: z.string(), effectiveAt: iso }),
  "subscription.downgrade_canceled": z.object({ planCode: z.string(), canceledPlanCode: z.string() }),
  "invoice.paid": z.object({ invoiceId: z.string(), number: z.string().nullable(), amountPaid: z.number().int(), ...money }),
  "invoice.payment_failed": z.object({ invoiceId: z.string(), number: z.string().nullable(), amountDue: z.number().int(), ...money }),
  "credits.granted": z.object({
    grantId: z.string(),
    metric: z.string(),
    units: z.number().int(),
    source: z.string(),
    sourceId: z.string(),
    amountCents: z.number().int(),
    currency: z.string().length(3),
    expiresAt: iso,
  }),
  // The org's own alerts of a feature (usage_alerts): its credits went below `below`; its overage
  // charge this period went above `aboveCents`. Each once per period and threshold.
  "credits.low": z.object({ metric: z.string(), below: z.number().int(), creditsLeft: z.number().int(), periodStart: iso, periodEnd: iso }),
  "overage.threshold_reached": z.object({
    metric: z.string(),
    aboveCents: z.number().int(),
    overageCents: z.number().int(),
    overageUnits: z.number().int(),
    currency: z.string().length(3),
    periodStart: iso,
    periodEnd: iso,
  }),
  "auto_top_up.failed": z.object({ metric: z.string(), reason: z.string() }),
  "api_key.created": z.object({ keyId: z.string(), name: z.string(), prefix: z.string() }),
  "api_key.revoked": z.object({ keyId: z.string() }),
  "webhook_endpoint.disabled": z.object({ endpointId: z.string(), url: z.string(), reason: z.string() }),
  // Sent only to one endpoint, by its "send test event" button.
  "webhook.test": z.object({ endpointId: z.string() }),
} as const;

export type EventType = keyof typeof eventData;
export type EventData<T extends EventType> = z.infer<(typeof eventData)[T]>;
export const EVENT_TYPES = Object.keys(eventData) as EventType[];
/** Types an endpoint can subscribe to (the test event goes only where it is sent). */
export const SUBSCRIBABLE_TYPES = EVENT_TYPES.filter((t) => t !== "webhook.test");

/** An event as webhook receivers get it (the Standard Webhooks payload shape). */
export const eventEnvelope = z.object({
  id: z.string(),
  type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
  timestamp: iso,
  data: z.record(z.string(), z.unknown()),
});
export type EventEnvelope = z.infer<typeof eventEnvelope>;
