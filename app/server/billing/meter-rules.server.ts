// What Stripe's billing meter accepts, and where usage goes in it. Stripe refuses a meter event
// whose identifier is over 100 characters or already used, or whose timestamp is more than 35
// days before or 5 minutes after real time (a customer's test clock does not move that window),
// and answers totals only for windows on whole minutes.
//
// Exactness of drift: a period [ps, pe) rarely starts on a minute, so its total is asked for the
// whole-minute window [floor(ps), floor(pe)): each boundary's part-minute belongs to the period
// that starts in it. These windows of consecutive periods tile time without overlap, and usage of
// a period is only ever reported at timestamps in [ps, floor(pe)), inside its own window and no
// other. (Widening both ends, [floor(ps), ceil(pe)), would make neighbours share a minute.) When
// Stripe's window leaves no such timestamp (the period lies in real time's future, as on a test
// clock run ahead, or ended over 35 days ago), the usage is still reported, at the nearest
// timestamp Stripe takes, and the period is marked displaced.
import { createHash } from "node:crypto";

const MINUTE = 60;
/** Stripe takes 35 days back; an hour's margin for the time a report takes and clock skew. */
export const MAX_PAST_SECONDS = 35 * 86_400 - 3600;

const floorMinute = (t: number) => Math.floor(t / MINUTE) * MINUTE;

/**
 * A deterministic identifier for one reported range of one counter, so a resent range is the same
 * event to Stripe: 70 characters whatever the org id's length (Stripe takes at most 100).
 */
export function meterEventIdentifier(r: { orgId: string; metric: string; periodStart: number; from: number; to: number }): string {
  const key = `${r.orgId}:${r.metric}:${Math.floor(r.periodStart)}:${r.from}-${r.to}`;
  return `usage_${createHash("sha256").update(key).digest("hex")}`;
}

/**
 * The timestamp to report a period's usage at, sent at real time `now` (seconds): now itself
 * while the period runs, else the period's last second before its last part-minute, always
 * within what Stripe accepts (never in the future). `inPeriod` is false when Stripe's window and
 * the period do not meet, and the usage lands outside the period.
 */
export function meterEventTimestamp(p: { periodStart: number; periodEnd: number; now: number }): { timestamp: number; inPeriod: boolean } {
  const now = Math.floor(p.now);
  const first = Math.ceil(p.periodStart);
  const last = Math.max(first, floorMinute(p.periodEnd) - 1);
  const wanted = Math.min(Math.max(now, first), last);
  const timestamp = Math.min(Math.max(wanted, now - MAX_PAST_SECONDS), now);
  return { timestamp, inPeriod: timestamp === wanted };
}

/** The whole-minute window Stripe is asked for a period's total (exact: see above). */
export function summaryWindow(periodStart: number, periodEnd: number): { start: number; end: number } {
  const start = floorMinute(periodStart);
  return { start, end: Math.max(floorMinute(periodEnd), start + MINUTE) };
}
