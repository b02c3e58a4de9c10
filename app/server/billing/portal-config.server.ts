// The billing portal the app offers its customers, written once: what Stripe's hosted portal may
// do for them (update the card, see invoices, cancel at the period end) and what it must not (switch
// plans, cancel at once: plan changes are the app's, with its previews and scheduled downgrades).
// The app's own portal configuration carries PORTAL_METADATA, so it is found again by it; the code
// that creates it passes PORTAL_FEATURES, and `ops stripe:check` compares the account's with them.
// No SDK import: the shapes below are the parts of Stripe's configuration that matter here.
import { digest } from "./stripe-keys.server";

/** The features to create the configuration with (Stripe's `features[…]` parameters). */
export const PORTAL_FEATURES = {
  payment_method_update: { enabled: true },
  invoice_history: { enabled: true },
  subscription_cancel: { enabled: true, mode: "at_period_end", proration_behavior: "none" },
  subscription_update: { enabled: false },
} as const;

/**
 * Marks the configuration the app made with this version of PORTAL_FEATURES
 * (`metadata[metered_portal]=<digest>`): every process finds it again after a restart, and a
 * release that changes the features makes a new one (a process of the previous release still
 * running keeps using the old one).
 */
export const PORTAL_METADATA = { metered_portal: digest(PORTAL_FEATURES) } as const;

/** What the check reads of a configuration's features. */
export type PortalFeaturesSeen = {
  payment_method_update: { enabled: boolean };
  invoice_history: { enabled: boolean };
  subscription_cancel: { enabled: boolean; mode: string; proration_behavior: string };
  subscription_update: { enabled: boolean };
};

/** Whether a configuration carries the app's metadata. */
export const isAppPortalConfiguration = (metadata: Record<string, string> | null) => metadata?.metered_portal === PORTAL_METADATA.metered_portal;

/** How a configuration's features differ from the app's, in words; empty when they match. */
export function portalFeatureProblems(f: PortalFeaturesSeen): string[] {
  const want = PORTAL_FEATURES;
  const problems: string[] = [];
  if (f.payment_method_update.enabled !== want.payment_method_update.enabled)
    problems.push("payment method update is off (the app sends customers with a failed payment there to update their card)");
  if (f.invoice_history.enabled !== want.invoice_history.enabled) problems.push("invoice history is off");
  if (f.subscription_cancel.enabled !== want.subscription_cancel.enabled) problems.push("cancelling is off (customers cancel in the portal)");
  else if (f.subscription_cancel.mode !== want.subscription_cancel.mode)
    problems.push(`cancelling is "${f.subscription_cancel.mode}", not at the period end (an immediate cancel ends a paid period early)`);
  if (f.subscription_cancel.enabled && f.subscription_cancel.proration_behavior !== want.subscription_cancel.proration_behavior)
    problems.push(`a cancel prorates ("${f.subscription_cancel.proration_behavior}"), the app never does`);
  if (f.subscription_update.enabled !== want.subscription_update.enabled)
    problems.push("plan switching is on (plan changes belong to the app: its previews and scheduled downgrades would be bypassed)");
  return problems;
}
