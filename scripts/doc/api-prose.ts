// The hand-written parts of docs/api.md: what the OpenAPI document cannot say. The rest of the
// file is made from the document (api-md.ts). Edit here, then run `bun run doc:all`.

export const intro = `# API contract

The contract that API clients, the portal and the tests rely on. Every \`/api/v1\` route is
described by the OpenAPI 3.1 document the app serves at \`GET /api/openapi.json\`, made from the
routes' declarations (\`app/routes/api.*.ts\`) and the Zod schemas they validate with. This file
is generated from that document and the prose in \`scripts/doc/api-prose.ts\` by \`bun run doc:all\`;
CI fails when it is stale (\`bun run doc:all --check\`). Do not edit it by hand.

Stripe's API is the model: predictable envelopes, idempotency, clear error codes.`;

export const basics = `## Basics

- **Base URL**: where the app runs (\`npm start\`: \`http://127.0.0.1:3000\`). The examples use
  \`BASE=http://127.0.0.1:3000\` and \`KEY=mk_test_…\` (\`bun run ops key:create <orgId>\`).
- **API clients** (quota and usage): \`Authorization: Bearer <api key>\`. Keys are created per org
  in the portal (or with the ops CLI), shown once, stored only as a hash, revocable (a revoked key
  fails everywhere within a few seconds). The org is derived from the key; an \`orgId\` in a body or
  query is never trusted: a route that takes a body or query parameters refuses it as an unknown
  field, and a route that takes none does not read its query string. The scheme is
  case-insensitive (\`bearer\` works too).
- **Portal routes** (billing, invoices, keys, subscription): the session cookie \`__session\` (the
  Clerk session, or the local dev sign-in when Clerk is not configured). The session's org scopes
  every query. A mutation must come from the app's own origin (its \`Origin\` header, or without
  one its \`Referer\`'s origin), else 403 \`FORBIDDEN\`.
- **Admin routes** (\`/api/admin/*\`, \`/admin\`): a session whose email is in \`ADMIN_EMAILS\`.
- **Local dev sign-in** (only without Clerk keys, never in production): \`POST /dev/sign-in\` with
  form fields \`email\`, \`orgId\` (optional: created if new) and \`orgName\` (optional) signs in as
  the owner of that org and answers 302 to \`/dashboard\` with the session cookie.

## Envelope

Every JSON answer of every \`/api/*\` route is one envelope (\`/api/openapi.json\` excepted: tools
read the document as it is):

    success:  { "ok": true,  "data": { ... } }
    error:    { "ok": false, "error": { "code": "QUOTA_EXCEEDED", "message": "human readable", "details": { ... } } }

\`Content-Type: application/json; charset=utf-8\`. Every answer carries \`x-request-id\` (yours,
when you send one of 1–128 \`A-Z a-z 0-9 . _ : -\`, else generated) and \`x-corr-id\`. No error
answer ever contains a stack trace, SQL, a secret or another org's data. A method a route does
not serve is 405 \`METHOD_NOT_ALLOWED\` with \`Allow\`.

## Idempotency and retries

- \`POST /api/v1/usage\` mutates **once** per \`(org, request_id)\`. A repeat with the same payload
  answers the identical status and body as the first success, plus \`Idempotent-Replayed: true\`;
  so a client that lost an answer (network error, timeout, 5xx) retries **with the same
  request_id** and can never count twice. Use a fresh id (a UUIDv7 is ideal) per unit of work.
  One feature's record in the other form (\`quantities\` for \`metric\` and \`quantity\`, or back)
  is the same request: it replays, answered in its own form.
- \`POST /api/v1/billing/upgrade\` takes an \`Idempotency-Key\` header: a retry with the same key
  charges nothing more.
- \`POST /api/v1/billing/top-ups\` requires an \`Idempotency-Key\` header: one purchase per key;
  the same key again answers the first answer (a \`402 PAYMENT_FAILED\` included) and charges
  nothing more. After a decline, update the card and buy with a new key.
- Retry network errors, timeouts, 5xx (\`SERVICE_UNAVAILABLE\`, \`UPSTREAM_UNAVAILABLE\`,
  \`INTERNAL\`) with exponential backoff and jitter, never sooner than \`Retry-After\`. Do not retry
  other 4xx: they answer the same until the input (or the plan) changes.`;

export const pastIncluded = `## Past the included units: credits, overage and the spend cap

A usage record (\`POST /api/v1/usage\`) is admitted whole or denied whole, in one transaction with
the counter, spending in this order:

1. the **included units** of the plan for the period;
2. the org's **prepaid credits** of the feature (top-ups): unexpired grants, the soonest to expire
   first. Credits carry over from period to period and expire 12 months after purchase; units paid
   with credits are never billed again (the meter is reported \`used - credit_used\`);
3. **overage**, when the plan sells it for the feature (the catalog's \`overage\`, shown in
   \`GET /api/v1/entitlements\`: growth and pro in the default catalog; monthly prices only, never
   on a yearly one) and the org's **spend cap** allows.

Otherwise the request is refused and nothing is counted: 429 \`QUOTA_EXCEEDED\` when the plan sells
no overage of the feature (the hard stop; \`details.topUpUrl\` links to the portal page where
credits are bought), 429 \`SPEND_CAP_REACHED\` when overage would take the org's period overage
charge over its cap. The answer's \`admittedAs\` says how many units came from each step; a replay
answers the same split. A request of several features at once (\`quantities\`) spends the same
way for each feature, the overage of all its features counted together under the cap, and is
admitted whole or refused whole (\`details.metric\` names the feature that does not fit).

**Overage charge and rounding.** A feature's overage charge for the period is

    round_half_up(overage_units × overage_price_cents / overage_per) cents

(for example 1,234 calls past the included units at 50 cents per 1,000 are 61.7 → 62 cents;
exactly half a cent rounds up). This is how Stripe rounds a graduated tier priced with
\`unit_amount_decimal\` (price / per cents a unit) once per invoice line, so the invoice's overage
line and this figure are equal. The org's period overage is the sum of its metered features'
charges, each rounded on its own. \`GET /api/v1/quota\` shows a feature's (\`overage.chargeCents\`),
\`GET /api/v1/billing/spend-cap\` the org's and its cap.

**Spend cap.** A monthly cap on the org's overage charge, in cents, set by an org admin
(\`PUT /api/v1/billing/spend-cap\`, audit-logged). An overage admission that would take the
period's overage charge over the cap is refused; under any concurrency the charge never exceeds
it (the admission holds the org's lock while it decides). **Default for a new org**: until an
admin chooses one, the cap is the monthly price of the org's plan (growth: $99 of overage a
month), so overage at most doubles the bill and nobody gets an unbounded bill without choosing
it; \`{"amountCents": null}\` is no cap, chosen explicitly; \`0\` sells no overage at all. Credits
are not bounded by the cap (they are paid for). A cap lowered below the charge so far admits no
more overage this period; what was admitted is billed.

**Auto top-up.** \`PUT /api/v1/billing/auto-top-up\` sets, per feature, "when an admission leaves
fewer than \`below\` credits (there were at least \`below\` before it), buy \`packs\` packs". The
admission that crosses the threshold records one purchase, exactly once per crossing, whatever
the concurrency or retries; the purchase itself is charged by a background job.`;

export const versioning = `## Versioning

\`/api/v1\` is stable: a client written against this document keeps working.

Changes that may happen within v1, without notice beyond this file:

- new fields in answers (objects in answers are open: ignore fields you do not know);
- new optional request fields and query parameters, with a default that keeps today's behaviour;
- new routes, and new methods on existing routes;
- new error codes, always with one of the statuses above. A client handles an unknown code by
  its HTTP status: 4xx = do not retry as is, 429 and 503 = retry after \`Retry-After\`, other 5xx =
  retry with backoff;
- new values of \`status\` and \`planCode\` (Stripe's subscription statuses, new plans), and
  changes to \`message\` texts (they are for people; match on \`code\`);
- headers added to answers.

Changes that need a new version (\`/api/v2\`, with \`/api/v1\` kept running alongside):

- removing or renaming a field, a route, a method, a query parameter or an error code;
- changing a field's type or meaning, an error code's HTTP status, or a default;
- making an optional request field required, or refusing input accepted today;
- changing the envelope, the authentication of a route, or the idempotency guarantees
  (once per \`(org, request_id)\`, identical replays).`;

export const overage = `## Overage: how it is billed, to the cent

On a plan whose metered feature has an overage price (\`overage: { priceCents, per }\` in the
catalog; growth and pro by default), usage past the included units is billed on the period's
invoice, in arrears, by Stripe, from the billing meter the usage is reported to. The overage line
of a feature for a period is:

\`\`\`
overage_units = max(0, billable units reported for the period − included)
overage line  = round_half_up(overage_units × priceCents / per)   (cents)
\`\`\`

computed exactly (no floating point), rounded once per feature and period, half a cent up (0.5 → 1).
Example: growth's \`api_call\` (250,000 included, 50 cents per 1,000): 251,331 calls in a
period → 1,331 × 50 / 1,000 = 66.55 → **67 cents**. Stripe computes the same figure: each plan
and feature has a metered graduated price on the feature's meter whose first tier is the included
units at 0 and whose second is \`priceCents / per\` cents per unit as an exact
\`unit_amount_decimal\`; Stripe multiplies the units in that tier by it and rounds the line to the
cent, half up. (A catalog whose \`priceCents / per\` is not a decimal of at most 12 places, as
Stripe needs, is refused by \`ops catalog:push\`.)

- **Billable units** are the units admitted for the period that are not paid otherwise: every
  admitted unit except those paid with prepaid credits (the meter is reported \`used - credit_used\`).
- **The period** is the subscription's billing period; a plan change mid-period moves the
  feature's metered price in place, so the whole period's usage is billed at the tiers of the plan
  in force at its end (an upgrade raises the allowance for the whole period, as the quota does). A
  downgrade applies at the period end: the ending period is billed at the old plan's tiers.
- **Yearly prices** carry no overage: Stripe bills one interval per subscription and overage is
  sold monthly, so a yearly plan stops at its included units.
- **Trials** bill no overage.
- The dashboard shows the overage so far by this rule and a projection to the period's end,
  linear in the period's elapsed time (usage so far ÷ elapsed × whole period).`;

export const client = `## The client: \`@metered/client\`

\`client/\` is a TypeScript client with no runtime dependencies (ESM + \`.d.ts\`; Node 18+, Bun,
Deno, edge runtimes; global \`fetch\`). \`cd client && npm pack\` builds an installable tarball.

\`\`\`ts
import { IdempotencyConflictError, Metered } from "@metered/client";

const metered = new Metered({
  apiKey: process.env.METERED_KEY!,
  baseUrl: "https://metered.example.com",
  timeoutMs: 2000,          // per attempt
  retries: 3,               // after network errors, timeouts, 5xx: same request_id each time
  deadlineMs: 5000,         // for the whole call
  onUnavailable: "deny",    // or "allow": what record answers when the API stays out of reach
});

const quota = await metered.quota({ metric: "api_call" }); // { allow, remaining, used, included, ... }
const result = await metered.record({ quantity: 1 });      // requestId defaults to a fresh UUIDv7
if (result.admitted) {
  // result.decidedBy === "platform": counted (result.replayed: counted before); "policy": API unreachable, allowed
} else if (result.decidedBy === "platform") {
  // result.reason === "quota_exceeded"; result.retryAfter seconds until the period ends
} else {
  // denied by policy: the API could not be reached within the deadline (result.cause)
}
\`\`\`

Errors: \`IdempotencyConflictError\` (409), \`MeteredApiError\` (other 4xx: \`status\`, \`code\`,
\`message\`, \`details\`, \`requestId\` = the answer's \`x-request-id\`), \`MeteredUnavailableError\`
(\`quota\` only, when the API cannot be reached; \`record\` decides by policy instead).

Middleware: \`metered.middleware(options)(handler)\` for fetch-style handlers (\`Bun.serve\`, Hono,
Remix resource routes, \`Deno.serve\`) and \`metered.express(options)\` for Express/Connect record one
unit per request before the handler and answer 429 \`QUOTA_EXCEEDED\` with \`Retry-After\` when
over quota (503 \`SERVICE_UNAVAILABLE\` when denied by policy). Options: \`quantity\` (a number or
a function of the request), \`metric\`, \`requestId\` (header names such as
\`["idempotency-key"]\`, or a function) so that a caller's own retries count once. Whoever
controls that header can replay one id forever, so scope it to an authenticated caller.`;

export const otherRoutes = `## Routes outside \`/api/v1\`

### Stripe webhooks: \`POST /api/webhooks/stripe\`

Verifies \`Stripe-Signature\` against \`STRIPE_WEBHOOK_SECRET\` on the raw body (bad or missing:
400, nothing stored). Stores the event by \`event.id\` and enqueues its processing job in the same
transaction; answers 2xx only after that commit. A repeated \`event.id\` answers 200 and is not
processed twice. Processing converges the database to Stripe's current state (it re-reads the
object from Stripe), so events may arrive late, twice or out of order.

### Health: \`GET /api/diag/smoke\`

Checks the database, Redis (if configured), the job queue and required configuration; answers
200 with each check's status and latency, or 503 \`SERVICE_UNAVAILABLE\` if a required one fails.
It reveals no secret and no org data.

### Admin: \`/api/admin/*\` (platform admins only)

\`GET /api/admin/jobs\` (queue and job statistics, permanently failed jobs), \`GET
/api/admin/drift?periodKey=YYYY-MM&metric=FEATURE\` (recorded vs reported to Stripe per org, metered
feature and period, both filters optional; \`maxDriftByFeature\` is the worst per feature),
\`POST /api/admin/replay\` \`{ eventId }\` or \`{ jobId }\` (re-processes a stored event or a failed
job), \`POST /api/admin/sessions/revoke\` \`{ email }\` (signs a person out everywhere). The
\`/admin\` page shows the same.

### Ops CLI: \`bun run ops <command> [--json]\`

For operators and tests; talks to the database and Stripe directly. With \`--json\` it prints
exactly one JSON object on stdout. The commands are listed in the README (Ops CLI).`;
