// Record usage. Hot path: authenticate, parse, one statement (batched), envelope.
// A replay answers the first success byte for byte, plus Idempotent-Replayed: true.
// Exported as a declaration (`route`): server.ts dispatches the hot path to it without the router.
import { ALWAYS, answer, JSON_BODY, jsonBody } from "~/server/api/contract.server";
import { usageAnswer, usageBody } from "~/server/api/schemas.server";
import { takeRateLimits } from "~/server/auth/rate-limits.server";
import { ok } from "~/server/http/envelope.server";
import { apiRoute } from "~/server/http/route.server";
import { recordUsageBody } from "~/server/usage/engine.server";

export const route = apiRoute({
  POST: {
    auth: "key",
    body: jsonBody(usageBody, "UsageBody", { request_id: "req_01JDQ8W6Y2N4", metric: "api_call", quantity: 1 }),
    data: answer(usageAnswer, "UsageAnswer", {
      request_id: "req_01JDQ8W6Y2N4",
      metric: "api_call",
      quantity: 1,
      used: 11,
      remaining: 49989,
      included: 50000,
      periodKey: "2026-11",
      recordedAt: "2026-11-23T10:00:00.123Z",
      admittedAs: { included: 1, credits: 0, overage: 0 },
    }),
    doc: {
      operationId: "recordUsage",
      tag: "Usage",
      summary: "Record usage",
      description: [
        "Counts `quantity` units once per `(org, request_id)`, admitted whole or denied whole, spending in this order: the plan's included units, then the org's prepaid credits of the feature (oldest expiry first), then overage when the plan sells it (a monthly price with an overage price) and the org's spend cap allows; `admittedAs` says how many units came from each. Otherwise 429 `QUOTA_EXCEEDED` (no overage sold: the hard stop, with `details.topUpUrl`) or 429 `SPEND_CAP_REACHED` (the overage charge would go over the cap), with `Retry-After` (seconds until the period ends), nothing counted and the request_id not burned (it may succeed later, after an upgrade, a top-up or a higher cap). Under any concurrency `used` never exceeds `included` plus the credits spent plus the overage the cap allows, and the period's overage charge never exceeds the cap.",
        "A repeat with the same payload answers the identical status and body as the first success, plus `Idempotent-Replayed: true`, and never counts again, even when repeats arrive concurrently and across a period boundary within 24 hours. A repeat with another metric or quantity is 409 `IDEMPOTENCY_CONFLICT`. The two forms of one feature's record (`metric` with `quantity`, and `quantities` naming that feature alone) are the same request: a repeat in the other form replays it, answered in its own form. So a client retries a lost answer (network error, timeout, 5xx) with the same request_id.",
        '`metric` is any metered feature of the catalog (`tokens`, …): 400 `VALIDATION_FAILED` for one the catalog does not meter, 403 `FEATURE_NOT_IN_PLAN` for one the org\'s plan (the version it was bought on) does not include. Several features at once: `{"request_id": "…", "quantities": {"api_call": 1, "tokens": 1532}}` is admitted whole or denied whole (the 429 names the exhausted feature in `details.metric`), answers `features` (each one\'s quantity, used, remaining, included), replays identically, and is a 409 if the request_id is reused with other quantities (or as a one-feature request). `quantities` with one feature is the same request as `metric` and `quantity`.',
      ].join("\n\n"),
      replays: true,
      errors: [
        ...JSON_BODY,
        "UNAUTHENTICATED",
        "SUBSCRIPTION_INACTIVE",
        "FEATURE_NOT_IN_PLAN",
        "IDEMPOTENCY_CONFLICT",
        "QUOTA_EXCEEDED",
        "SPEND_CAP_REACHED",
        "RATE_LIMITED",
        ...ALWAYS,
      ],
    },
    handle: async ({ body }, ctx, key) => {
      // Only a key that carries limits pays for them; a refused request counts nothing.
      if (key.rateLimits) await takeRateLimits(key.keyId, key.rateLimits);
      const result = await recordUsageBody(key.orgId, body, key.keyId);
      return ok(ctx, result.data, result.replayed ? { "Idempotent-Replayed": "true" } : undefined);
    },
  },
});
export const { loader, action } = route;
