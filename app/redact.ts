// What must never leave the process, in logs or in error reports: API keys, Stripe secrets,
// webhook secrets, card numbers, emails, connection strings, and any value under a sensitive key.
// Shared by the server's logger and the Sentry scrubber (server and browser).
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

export function scrub(value: unknown, depth = 0, maxDepth = 6): unknown {
  if (typeof value === "string") {
    let out = value;
    for (const [re, to] of SECRET_PATTERNS) out = out.replace(re, to);
    return out;
  }
  if (depth > maxDepth || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { type: value.name, message: scrub(value.message, depth + 1, maxDepth), stack: scrub(value.stack, depth + 1, maxDepth) };
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1, maxDepth));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? "[REDACTED]" : scrub(v, depth + 1, maxDepth);
  return out;
}
