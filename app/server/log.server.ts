// JSON logs (pino). Every line can carry orgId, request_id and corr_id; secrets, API keys,
// card data and emails are redacted before a line is written, wherever they appear.
import pino from "pino";
import { config } from "./config.server";

const SECRET_PATTERNS: [RegExp, string][] = [
  [/\bmk_(live|test)_[A-Za-z0-9]+/g, "mk_$1_[REDACTED]"],
  [/\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+/g, "$1_$2_[REDACTED]"],
  [/\bwhsec_[A-Za-z0-9+/=]+/g, "whsec_[REDACTED]"],
  [/\b(?:\d[ -]?){13,19}\b/g, "[REDACTED_CARD]"],
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, "[REDACTED_EMAIL]"],
  [/(postgres(?:ql)?|rediss?):\/\/[^\s"']+/g, "$1://[REDACTED]"],
  // drizzle's "Failed query: …\nparams: …" carries the query's values (an API key's hash, emails).
  [/\bparams: [^\n]*/g, "params: [REDACTED]"],
];
const SECRET_KEYS = /^(authorization|cookie|set-cookie|password|secret|token|key|apikey|api_key|email|card|stripe-signature)$/i;

export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === "string") {
    let out = value;
    for (const [re, to] of SECRET_PATTERNS) out = out.replace(re, to);
    return out;
  }
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { type: value.name, message: scrub(value.message, depth + 1), stack: scrub(value.stack, depth + 1) };
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? "[REDACTED]" : scrub(v, depth + 1);
  return out;
}

export const log = pino({
  level: config.LOG_LEVEL,
  base: { service: process.env.SERVICE_NAME ?? "app" },
  timestamp: pino.stdTimeFunctions.isoTime,
  messageKey: "msg",
  formatters: {
    level: (label) => ({ level: label }),
    log: (obj) => scrub(obj) as Record<string, unknown>,
  },
  hooks: {
    // The message string is scrubbed too, not only the object.
    logMethod(args, method) {
      method.apply(this, args.map((a) => (typeof a === "string" ? (scrub(a) as string) : a)) as Parameters<typeof method>);
    },
  },
});

export type Logger = typeof log;
