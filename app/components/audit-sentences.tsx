// The org's audit log as sentences ("Revoked API key 'ci runner'"): one formatter per kind of
// action, reading the entry's target and details; names the log does not hold (a key's name for
// its revocation) come from `names`, by id. A kind without a formatter is shown as recorded.
import { formatDateTime, formatMoney, formatNumber } from "./format";
import type { Column } from "./responsive-table";

export type AuditRow = { id: number; actor: string; action: string; target: string | null; details?: unknown; at: string };

type Details = Record<string, unknown>;
type Say = (target: string, d: Details, names: Record<string, string>) => string;

const quoted = (s: unknown) => `'${String(s)}'`;
const pair = (v: unknown): [unknown, unknown] | null => (Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : null);

/** What changed in a settings save, from its [before, after] pairs. */
function settingsChanges(d: Details): string {
  const parts: string[] = [];
  const zone = pair(d.timeZone);
  if (zone && zone[0] !== zone[1]) parts.push(`time zone from ${zone[0]} to ${zone[1]}`);
  const email = pair(d.billingEmail);
  if (email && (email[0] ?? "") !== (email[1] ?? "")) parts.push(email[1] ? "the billing email" : "the billing email back to the owner's");
  if (Array.isArray(d.mutedEmails))
    parts.push(d.mutedEmails.length ? `${d.mutedEmails.length} email kind${d.mutedEmails.length === 1 ? "" : "s"} muted` : "all emails on");
  return parts.length ? `Changed settings: ${parts.join(", ")}` : "Saved settings";
}

const SENTENCES: Record<string, Say> = {
  "api_key.created": (t, d, n) => `Created API key ${quoted(d.name ?? n[t] ?? t)}`,
  "api_key.revoked": (t, _d, n) => `Revoked API key ${quoted(n[t] ?? t)}`,
  "webhook_endpoint.created": (_t, d) => `Added webhook endpoint ${d.url}${Array.isArray(d.eventTypes) ? ` for ${d.eventTypes.join(", ")}` : ""}`,
  "webhook_endpoint.deleted": (_t, d) => `Deleted webhook endpoint ${d.url}`,
  "webhook_endpoint.disabled": (t, d, n) => `Disabled webhook endpoint ${n[t] ?? t} after it kept failing${d.reason ? ` (${d.reason})` : ""}`,
  "webhook_delivery.retried": () => "Sent a webhook delivery again",
  "settings.updated": (_t, d) => settingsChanges(d),
  "spend_cap.updated": (_t, d) =>
    d.amountCents === null ? "Removed the spend cap" : `Set the spend cap to ${formatMoney(Number(d.amountCents), "usd")} a period`,
  "auto_top_up.updated": (t, d) => (d.enabled === false ? `Turned off automatic top-ups of ${t}` : `Changed automatic top-ups of ${t}`),
  "credits.granted": (t, d) => `Added ${formatNumber(Number(d.units ?? 0))} ${t} credits`,
  "plan.upgraded": (t, d) => `Upgraded from ${d.from ?? "the previous plan"} to ${t}${d.interval === "year" ? ", billed yearly" : ""}`,
  "downgrade.scheduled": (t, d) => `Scheduled a downgrade from ${d.from ?? "the current plan"} to ${t} at the period end`,
  "downgrade.canceled": (t) => `Canceled the scheduled downgrade to ${t}`,
  "subscription.resumed": (t) => `Kept the ${t} plan: it no longer cancels at the period end`,
  "plan_version.migrated": (t, d) => `Moved the ${t} plan to catalog version ${d.to ?? "new"}`,
  "billing.second_live_subscription": (t) => `Found a second live Stripe subscription (${t}); the first one was kept`,
  "billing.stripe_customer_deleted": () => "Stripe no longer has this organisation's customer",
};

/** The entry as one sentence. */
export function auditSentence(a: AuditRow, names: Record<string, string>): string {
  const say = SENTENCES[a.action];
  const details = a.details && typeof a.details === "object" ? (a.details as Details) : {};
  return say ? say(a.target ?? "", details, names) : `${a.action}${a.target ? ` ${a.target}` : ""}`;
}

export const auditSentenceColumns = (timeZone: string, names: Record<string, string>): Column<AuditRow>[] => [
  { header: timeZone === "UTC" ? "When (UTC)" : "When", cell: (a) => formatDateTime(a.at, timeZone) },
  { header: "Who", cell: (a) => (a.actor === "system" ? "Metered" : a.actor) },
  { header: "What", cell: (a) => <span data-testid="audit-sentence">{auditSentence(a, names)}</span> },
];
