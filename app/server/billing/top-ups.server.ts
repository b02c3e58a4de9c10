// Prepaid top-ups bought through Stripe (docs/api.md, "Top-ups"): `packs` packs of a metric's
// top-up pack (the catalog's `topUps`, per catalog version). With a saved card Stripe charges it
// at once (stripe-top-ups.server.ts) and the credits are granted before we answer; without one
// the answer is a payment-mode Checkout, granted when Stripe says it is paid. One purchase per
// idempotency key (billing_requests, idempotency.server.ts): the same key again, concurrently or
// later, answers the first purchase's answer, a declined card's included, and charges nothing.
// The grant itself is made once per paying Stripe object (credit-grants.server.ts), so the
// synchronous answer and the webhooks, in any order and however often, grant once.
import { MAX_TOP_UP_PACKS } from "../api/schemas.server";
import { ID_PATTERN } from "../domain/vocabulary.server";
import { getOrg } from "../orgs/orgs.server";
import { config } from "../platform/config.server";
import { AppError } from "../platform/errors.server";
import { log } from "../platform/log.server";
import { type CreditGrant, type GrantSource, grantPaidTopUp, paidTopUpOf } from "./credit-grants.server";
import { oncePerKey } from "./idempotency.server";
import { activeCatalog, refreshCatalog } from "./plans.server";
import { callerDeadline, ensureCustomer, upstream } from "./stripe.server";
import {
  chargeSavedCard,
  retrieveTopUpSession,
  savedCard,
  savedCardSummary,
  type TopUpMetadata,
  type TopUpPack,
  topUpCheckout,
  topUpPrice,
} from "./stripe-top-ups.server";

type Bought = { metric: string; packs: number; units: number; amountCents: number; currency: string };
/** A purchase's answer, as stored under its idempotency key. */
export type TopUpAnswer =
  | (Bought & { status: "granted"; invoiceId: string; grant: CreditGrant })
  | (Bought & { status: "pending"; invoiceId: string })
  | (Bought & { status: "checkout"; checkoutUrl: string; sessionId: string })
  | (Bought & { status: "failed"; invoiceId: string; reason: string });

/** The metric's pack in the current catalog, or VALIDATION_FAILED naming the metrics that have one. */
export async function packOf(metric: string): Promise<TopUpPack> {
  await refreshCatalog();
  const packs = activeCatalog().catalog.topUps ?? {};
  const pack = packs[metric];
  if (!pack) {
    const known = Object.keys(packs).sort();
    throw new AppError("VALIDATION_FAILED", `"${metric}" has no top-up pack${known.length ? ` (packs are sold for ${known.join(", ")})` : ""}.`, {
      issues: [{ path: "metric", message: "no top-up pack for this metric" }],
    });
  }
  return { metric, units: pack.units, priceCents: pack.priceCents, currency: pack.currency };
}

/** Every metric's pack in the current catalog, by metric. */
export async function listPacks(): Promise<TopUpPack[]> {
  await refreshCatalog();
  // By metric: the database's JSON keeps no file order.
  return Object.entries(activeCatalog().catalog.topUps ?? {})
    .map(([metric, p]) => ({ metric, units: p.units, priceCents: p.priceCents, currency: p.currency }))
    .sort((a, b) => (a.metric < b.metric ? -1 : 1));
}

function checkInput(packs: number, idempotencyKey: string | null): asserts idempotencyKey is string {
  if (!idempotencyKey)
    throw new AppError("VALIDATION_FAILED", "An Idempotency-Key header is required: a retry with the same key charges nothing more.", {
      issues: [{ path: "Idempotency-Key", message: "required" }],
    });
  if (!ID_PATTERN.test(idempotencyKey))
    throw new AppError("VALIDATION_FAILED", "Idempotency-Key must be 1–128 characters of A-Z a-z 0-9 . _ : -", {
      issues: [{ path: "Idempotency-Key", message: "invalid" }],
    });
  if (!Number.isInteger(packs) || packs < 1 || packs > MAX_TOP_UP_PACKS)
    throw new AppError("VALIDATION_FAILED", `packs must be a whole number from 1 to ${MAX_TOP_UP_PACKS}.`, {
      issues: [{ path: "packs", message: "out of range" }],
    });
}

type Purchase = { metric: string; packs: number; idempotencyKey: string | null; source: GrantSource; checkoutAllowed: boolean };

/** A person's purchase (the API and the portal): answers within the request's Stripe deadline. */
export const buyTopUp = (orgId: string, input: { metric: string; packs: number; idempotencyKey: string | null }) =>
  callerDeadline(() => purchase(orgId, { ...input, source: "top_up", checkoutAllowed: true }));

/** The purchase behind both: validated, then once per key. */
export async function purchase(orgId: string, input: Purchase): Promise<TopUpAnswer> {
  checkInput(input.packs, input.idempotencyKey);
  const pack = await packOf(input.metric);
  const key = `top_up:${input.idempotencyKey}`;
  return oncePerKey(
    {
      orgId,
      key,
      scope: `top_up:${input.metric}:${input.packs}`,
      conflict: "This Idempotency-Key was already used for another purchase (another metric or number of packs).",
    },
    () => upstream(() => charge(orgId, pack, input, `${key}:${orgId}`)),
  );
}

async function charge(orgId: string, pack: TopUpPack, input: Purchase, key: string): Promise<TopUpAnswer> {
  const units = pack.units * input.packs;
  const bought: Bought = { metric: pack.metric, packs: input.packs, units, amountCents: pack.priceCents * input.packs, currency: pack.currency };
  const { customerId } = await ensureCustomer(orgId);
  const priceId = await topUpPrice(pack);
  const metadata: TopUpMetadata = {
    kind: "top_up",
    org_id: orgId,
    metric: pack.metric,
    packs: String(input.packs),
    units: String(units),
    source: input.source,
  };
  const card = await savedCard(customerId);
  if (!card) {
    if (!input.checkoutAllowed) return { ...bought, status: "failed", invoiceId: "", reason: "The organisation has no saved card to charge." };
    const back = `${config.baseUrl}/billing/top-ups?metric=${encodeURIComponent(pack.metric)}`;
    const session = await topUpCheckout({
      customerId,
      priceId,
      packs: input.packs,
      metadata,
      successUrl: `${back}&checkout=success&session_id={CHECKOUT_SESSION_ID}`,
      cancelUrl: `${back}&checkout=canceled`,
      key,
    });
    return { ...bought, status: "checkout", checkoutUrl: session.url, sessionId: session.sessionId };
  }
  const charged = await chargeSavedCard({ customerId, priceId, packs: input.packs, metadata, key });
  if (charged.state === "failed") return { ...bought, status: "failed", invoiceId: charged.invoiceId, reason: charged.reason };
  if (charged.state === "pending") return { ...bought, status: "pending", invoiceId: charged.invoiceId };
  const grant = await grantPaidTopUp({
    orgId,
    metric: pack.metric,
    units,
    source: input.source,
    sourceId: charged.invoiceId,
    amountCents: charged.amountPaid,
    currency: charged.currency,
  });
  return { ...bought, amountCents: charged.amountPaid, status: "granted", invoiceId: charged.invoiceId, grant };
}

/** What the top-ups page shows of the org's card: the saved one, none, or unknown while Stripe does not answer. */
export type CardOnFile = { state: "saved"; brand: string; last4: string } | { state: "none" } | { state: "unknown" };

export async function cardOnFile(orgId: string): Promise<CardOnFile> {
  const { stripeCustomerId } = await getOrg(orgId);
  // No customer yet: nothing is saved, and a page view makes none.
  if (!stripeCustomerId) return { state: "none" };
  try {
    const card = await callerDeadline(() => upstream(() => savedCardSummary(stripeCustomerId)));
    return card ? { state: "saved", ...card } : { state: "none" };
  } catch (err) {
    log.warn({ err, orgId }, "top-ups page: could not read the saved card from Stripe");
    return { state: "unknown" };
  }
}

/**
 * The Checkout return (`?session_id=`): grants a paid session at once rather than when its
 * webhook arrives, for a session of the org's own customer only. Failing quietly: the webhook
 * grants it anyway.
 */
export async function convergeTopUpReturn(orgId: string, sessionId: string): Promise<void> {
  if (!/^cs_[A-Za-z0-9_]{1,200}$/.test(sessionId)) return;
  try {
    const { stripeCustomerId } = await getOrg(orgId);
    if (!stripeCustomerId) return;
    const session = await callerDeadline(() => upstream(() => retrieveTopUpSession(sessionId)));
    if (session?.customerId !== stripeCustomerId) return;
    const paid = paidTopUpOf(orgId, session);
    if (paid) await grantPaidTopUp(paid);
  } catch (err) {
    log.warn({ err, orgId }, "top-up return: could not read the session; its webhook grants it");
  }
}
