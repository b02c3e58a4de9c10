// A recording of the main billing flows' answers (test/real-stripe/flows.ts): each step's request
// and what Stripe (or the local Stripe) answered, redacted so it can be committed: object ids become
// `<prefix>_<n>` (the same id, the same stand-in, within one recording), secrets, URLs and emails
// become placeholders. Values are kept where they are not secret (statuses, amounts): the shape diff
// (shape-diff.ts) reads field presence and types only.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export type StepAnswer =
  | { ok: true; body: unknown }
  | { ok: false; status: number | null; error: { type: unknown; code: unknown; param: unknown; message: unknown } };
export type Step = { step: string; request: { call: string; params?: unknown }; answer: StepAnswer };
export type Recording = { target: "stripe" | "local"; apiVersion: string; sdkVersion: string; recordedAt: string; steps: Step[] };

// Stripe's object id prefixes, longest first so `sub_sched` wins over `sub`.
const ID =
  /\b(sub_sched|cs_test|cs_live|mtrusg|clock|price|prod|cus|sub|si|in|il|ii|pm|bps|bpc|mtr|we|evt|req|pi|ch|seti|src|card|acct|inpay|py|re|cn|txn|ipi|bpe|mbur|ibt)_[A-Za-z0-9]{6,}\b/g;
const SECRET = /\b(whsec|sk_test|sk_live|rk_test|rk_live|pk_test|pk_live)_[A-Za-z0-9]+/g;

/** Redacts one answer or request; `ids` carries the id map across a whole recording. */
export function redact(value: unknown, ids: Map<string, string>): unknown {
  if (typeof value === "string") {
    if (/^https?:\/\//.test(value)) return "<url>";
    if (/^[^@\s]+@[^@\s]+\.[a-z]+$/i.test(value)) return "<email>";
    return value
      .replace(SECRET, (_m, p: string) => `${p}_<redacted>`)
      .replace(ID, (id, prefix: string) => {
        if (!ids.has(id)) ids.set(id, `${prefix}_${ids.size + 1}`);
        return ids.get(id)!;
      });
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, ids));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // Secrets and fingerprints by name, whatever their form.
      out[k] = ["client_secret", "secret", "fingerprint", "idempotency_key"].includes(k) && typeof v === "string" ? "<redacted>" : redact(v, ids);
    }
    return out;
  }
  return value;
}

export function writeRecording(path: string, recording: Recording): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(recording, null, 2)}\n`);
}

export function readRecording(path: string): Recording {
  return JSON.parse(readFileSync(path, "utf8")) as Recording;
}
