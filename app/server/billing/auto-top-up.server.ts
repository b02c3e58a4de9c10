// The charge of an auto top-up ("when fewer than N remain, buy K packs"). The admission records a
// run once per crossing (auto_top_up_runs) and enqueues the `auto_top_up` job; the job calls
// chargeAutoTopUp with that run, which buys through the same purchase as the API's
// (top-ups.server.ts) under the idempotency key `auto_top_up:<run id>`: however often the job
// runs for one run (retries, two workers), Stripe sees one invoice and the org gets one grant.
// A charge that fails (a declined card, no saved card) answers ok: false; the job then turns the
// setting off and tells the org (autoTopUpFailed). Stripe not answering is thrown instead, so the
// job retries rather than turning the setting off for an outage.

import { sql as dsql } from "drizzle-orm";
import type { Executor } from "../events/outbox.server";
import { emitEvent } from "../events/outbox.server";
import { db } from "../platform/db.server";
import { AppError } from "../platform/errors.server";
import { purchase, type TopUpAnswer } from "./top-ups.server";

export type AutoTopUpRun = { id: string; orgId: string; metric: string; packs: number };
/** `grantId` is null when Stripe confirms the payment later (its `invoice.paid` grants it). */
export type AutoTopUpResult = { ok: true; grantId: string | null } | { ok: false; reason: string };

/** Buys the run's packs with the org's saved card (never a Checkout: nobody is there to pay it). */
export async function chargeAutoTopUp(run: AutoTopUpRun): Promise<AutoTopUpResult> {
  let answer: TopUpAnswer;
  try {
    answer = await purchase(run.orgId, {
      metric: run.metric,
      packs: run.packs,
      idempotencyKey: `auto_top_up:${run.id}`,
      source: "auto_top_up",
      checkoutAllowed: false,
    });
  } catch (err) {
    // A setting no purchase can satisfy (the catalog no longer sells the pack, packs out of
    // range) fails for good: retrying would not change it.
    if (err instanceof AppError && err.code === "VALIDATION_FAILED") return { ok: false, reason: err.message };
    throw err;
  }
  if (answer.status === "granted") return { ok: true, grantId: answer.grant.id };
  if (answer.status === "failed") return { ok: false, reason: answer.reason };
  // Paid later (a bank debit): the invoice's webhook grants it; the run is charged.
  if (answer.status === "pending") return { ok: true, grantId: null };
  // A purchase made with checkoutAllowed: false never answers a Checkout.
  throw new Error(`auto top-up ${run.id}: unexpected answer ${answer.status}`);
}

/**
 * Tells the org its auto top-up was turned off: the `auto_top_up.failed` event (a webhook to its
 * endpoints, and the email from its template in notify/email.server.ts). Pass the transaction
 * that turns the setting off, so the notice goes out exactly when the setting changed.
 */
export async function autoTopUpFailed(orgId: string, metric: string, reason: string, executor: Executor = db): Promise<void> {
  await emitEvent({ orgId, type: "auto_top_up.failed", data: { metric, reason } }, executor);
}

type RunRow = { id: string; org_id: string; metric: string; packs: number; status: string };

/**
 * The auto_top_up job: charges the run the admission wrote when the org's credits crossed its
 * threshold (auto_top_up_runs, one per crossing). A run already settled is left alone (a second
 * job for it, or a retry after it settled, charges nothing: the idempotency key would replay the
 * same answer anyway). A failed charge turns the setting off, marks the run failed and tells the
 * org, in one transaction; Stripe not answering throws, and the job retries.
 */
export async function runAutoTopUp(runId: string): Promise<"charged" | "failed" | "settled" | "missing"> {
  const rows = await db.execute<RunRow>(dsql`select id, org_id, metric, packs, status from auto_top_up_runs where id = ${runId}`);
  const run = rows[0];
  if (!run) return "missing";
  if (run.status !== "pending") return "settled";
  const result = await chargeAutoTopUp({ id: run.id, orgId: run.org_id, metric: run.metric, packs: run.packs });
  if (result.ok) {
    await db.execute(dsql`update auto_top_up_runs set status = 'charged' where id = ${run.id} and status = 'pending'`);
    return "charged";
  }
  await db.transaction(async (tx) => {
    const settled = await tx.execute<{ id: string }>(
      dsql`update auto_top_up_runs set status = 'failed' where id = ${run.id} and status = 'pending' returning id`,
    );
    if (settled.length === 0) return;
    await tx.execute(dsql`update auto_top_up_settings set enabled = false, updated_at = now() where org_id = ${run.org_id} and metric = ${run.metric}`);
    await autoTopUpFailed(run.org_id, run.metric, result.reason, tx);
  });
  return "failed";
}
