// The catalog's features as people read them: a plan card's terms ("Tokens: 5,000,000 tokens a
// month", "Seats: unlimited", "SSO: no"), what a plan change changes ("Tokens 5,000,000 →
// 25,000,000", "SSO: no → yes"), and what a yearly price saves. Generic over the catalog: a
// feature added to it shows without code here.
import type { Entitlement } from "~/server/billing/entitlements.server";
import type { FeatureSpec, Grant } from "~/server/domain/catalog.server";
import { formatMoney, formatNumber } from "./format";

/** What a plan grants of one feature, whatever the source (a catalog plan, or the org's entitlements). */
export type Allowance = { type: "metered"; included: number } | { type: "numeric"; limit: number | null } | { type: "boolean"; granted: boolean };
export type FeatureTerm = { feature: string; label: string; value: string };
export type FeatureChange = { feature: string; label: string; from: string; to: string };

const ACRONYMS = new Set(["api", "sso", "id", "url", "gb", "mb", "llm", "ai"]);

/** "api_call" → "API calls" (a metered feature is counted: plural), "sso" → "SSO", "storage_gb" → "Storage GB". */
export function featureLabel(code: string, type: FeatureSpec["type"]): string {
  const words = code.split("_").map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w));
  const label = words.join(" ");
  const text = label.charAt(0).toUpperCase() + label.slice(1);
  const last = words[words.length - 1] ?? "";
  return type === "metered" && /^[a-z]+$/.test(last) && !last.endsWith("s") ? `${text}s` : text;
}

/** "1 token", "2 tokens"; a unit that is not a plain word ("GB") stays as it is. */
export const unitsOf = (n: number, unit: string) => `${formatNumber(n)} ${n !== 1 && /^[a-z]+$/.test(unit) && !unit.endsWith("s") ? `${unit}s` : unit}`;

/** A catalog grant as an allowance; a feature the plan does not list grants nothing. */
export function allowanceOf(spec: FeatureSpec, grant: Grant | undefined): Allowance {
  if (spec.type === "boolean") return { type: "boolean", granted: grant === true };
  if (spec.type === "numeric") return { type: "numeric", limit: grant && typeof grant === "object" && "limit" in grant ? grant.limit : 0 };
  return { type: "metered", included: grant && typeof grant === "object" && "included" in grant ? grant.included : 0 };
}

/** What the org has now, from its entitlements (its plan version, this period's units). */
export function allowancesOf(entitlements: Entitlement[]): Record<string, Allowance> {
  return Object.fromEntries(
    entitlements.map((e): [string, Allowance] => [
      e.feature,
      e.type === "metered"
        ? { type: "metered", included: e.included }
        : e.type === "numeric"
          ? { type: "numeric", limit: e.limit }
          : { type: "boolean", granted: e.granted },
    ]),
  );
}

/** How a plan card states an allowance. */
function termOf(a: Allowance, unit: string | undefined): string {
  if (a.type === "boolean") return a.granted ? "Yes" : "No";
  if (a.type === "numeric") return a.limit === null ? "Unlimited" : formatNumber(a.limit);
  return a.included > 0 ? `${unitsOf(a.included, unit ?? "unit")} a month` : "Not included";
}

/** How a change states each side: the bare figure. */
function figureOf(a: Allowance): string {
  if (a.type === "boolean") return a.granted ? "yes" : "no";
  if (a.type === "numeric") return a.limit === null ? "unlimited" : formatNumber(a.limit);
  return formatNumber(a.included);
}

// A stored catalog's key order is not the file's (jsonb orders keys by length): metered features
// first, then numeric limits, then yes/no, each by code.
const TYPE_ORDER: Record<FeatureSpec["type"], number> = { metered: 0, numeric: 1, boolean: 2 };
const inOrder = (features: Record<string, FeatureSpec>) =>
  Object.entries(features).sort(([a, x], [b, y]) => TYPE_ORDER[x.type] - TYPE_ORDER[y.type] || (a < b ? -1 : a > b ? 1 : 0));

/** A plan's terms, one per feature of the catalog: metered, numeric, boolean, each by code. */
export function planTerms(features: Record<string, FeatureSpec>, grants: Record<string, Grant>): FeatureTerm[] {
  return inOrder(features).map(([feature, spec]) => ({
    feature,
    label: featureLabel(feature, spec.type),
    value: termOf(allowanceOf(spec, grants[feature]), spec.unit),
  }));
}

/** The catalog's features whose allowance differs between what the org has and the plan it would move to. */
export function featureChanges(features: Record<string, FeatureSpec>, from: Record<string, Allowance>, to: Record<string, Grant>): FeatureChange[] {
  const changes: FeatureChange[] = [];
  for (const [feature, spec] of inOrder(features)) {
    const before = from[feature] ?? allowanceOf(spec, undefined);
    const after = allowanceOf(spec, to[feature]);
    const [a, b] = [figureOf(before), figureOf(after)];
    if (a !== b) changes.push({ feature, label: featureLabel(feature, spec.type), from: a, to: b });
  }
  return changes;
}

/** The yearly price against twelve monthly ones: what it saves, and as whole months free when it is. */
export function yearlySaving(plan: { priceMonthly: number; priceYearly: number | null; currency: string }) {
  if (plan.priceYearly === null || plan.priceMonthly <= 0) return null;
  const saving = plan.priceMonthly * 12 - plan.priceYearly;
  if (saving <= 0) return { saving: 0, text: null };
  const months = saving / plan.priceMonthly;
  const amount = `save ${formatMoney(saving, plan.currency).replace(/\.00$/, "")}`;
  return { saving, text: Number.isInteger(months) ? `${months} month${months === 1 ? "" : "s"} free — ${amount}` : amount };
}

/**
 * The plan a scheduled change moves to, as people read it (`name`: the plan's name), with its
 * interval when that changes too: "Pro, monthly" or "Starter, monthly" from Pro yearly.
 */
export function pendingPlanLabel(subscription: { interval: "month" | "year"; pendingInterval: "month" | "year" | null }, name: string): string {
  const next = subscription.pendingInterval ?? subscription.interval;
  return next === subscription.interval ? name : `${name}, ${next === "year" ? "yearly" : "monthly"}`;
}
