// The subscription statuses in which an org has a plan that counts: it cannot start a second one
// through Checkout, it can change plans, and its usage is shown. Shared by the server and the
// billing page (which needs it in the browser, so it cannot live in a .server module).
export const LIVE_STATUSES = ["active", "trialing", "past_due"] as const;

const LIVE = new Set<string>(LIVE_STATUSES);

/** Whether a subscription in this status is live (see LIVE_STATUSES). */
export function isLive(status: string): boolean {
  return LIVE.has(status);
}

/**
 * The colour a subscription's status badge has on every page: green while it is paid up, red
 * when a payment failed (past due, unpaid, incomplete), grey once it has ended.
 */
export function statusColor(status: string): "teal" | "red" | "gray" {
  if (status === "active" || status === "trialing") return "teal";
  if (status === "canceled" || status === "incomplete_expired" || status === "paused") return "gray";
  return "red";
}

/** A status as people read it ("past due", not "past_due"). */
export const statusLabel = (status: string) => status.replaceAll("_", " ");
