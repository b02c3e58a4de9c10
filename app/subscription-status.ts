// The subscription statuses in which an org has a plan that counts: it cannot start a second one
// through Checkout, it can change plans, and its usage is shown. Shared by the server and the
// billing page (which needs it in the browser, so it cannot live in a .server module).
export const LIVE_STATUSES = ["active", "trialing", "past_due"] as const;

const LIVE = new Set<string>(LIVE_STATUSES);

/** Whether a subscription in this status is live (see LIVE_STATUSES). */
export function isLive(status: string): boolean {
  return LIVE.has(status);
}
