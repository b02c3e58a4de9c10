// JSON logs (pino). Every line can carry orgId, request_id and corr_id; secrets, API keys,
// card data and emails are redacted before a line is written, wherever they appear. No stack
// trace reaches a log line: an error is logged as its type, message and code (and its cause's);
// where it was thrown is the error tracker's to keep (Sentry, when configured).
import pino from "pino";
import { scrub } from "../../redact";
import { config } from "./config.server";

export { scrub };

type LoggedError = { type: string; message: string; code?: string; cause?: LoggedError };

/** An error as a log line holds it: never its stack. */
export function errorForLog(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object") return value;
  const e = value as { name?: unknown; type?: unknown; message?: unknown; code?: unknown; cause?: unknown };
  const out: LoggedError = {
    type: String(e.name ?? e.type ?? "Object"),
    message: String(e.message ?? ""),
  };
  if (typeof e.code === "string" || typeof e.code === "number") out.code = String(e.code);
  if (e.cause !== undefined && depth < 3) out.cause = errorForLog(e.cause, depth + 1) as LoggedError;
  return out;
}

// Any error under another key than `err` (a nested one too) loses its stack as well.
function withoutStacks(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || depth > 6) return value;
  if (value instanceof Error) return errorForLog(value);
  if (Array.isArray(value)) return value.map((v) => withoutStacks(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== "stack") out[k] = withoutStacks(v, depth + 1);
  return out;
}

export const logOptions: pino.LoggerOptions = {
  level: config.LOG_LEVEL,
  base: { service: process.env.SERVICE_NAME ?? "app" },
  timestamp: pino.stdTimeFunctions.isoTime,
  messageKey: "msg",
  serializers: { err: errorForLog, error: errorForLog },
  formatters: {
    level: (label) => ({ level: label }),
    log: (obj) => scrub(withoutStacks(obj)) as Record<string, unknown>,
  },
  hooks: {
    // The message string is scrubbed too, not only the object.
    logMethod(args, method) {
      method.apply(this, args.map((a) => (typeof a === "string" ? (scrub(a) as string) : a)) as Parameters<typeof method>);
    },
  },
};

export const log = pino(logOptions);

export type Logger = typeof log;
