// JSON logs (pino). Every line can carry orgId, request_id and corr_id; secrets, API keys,
// card data and emails are redacted before a line is written, wherever they appear.
import pino from "pino";
import { scrub } from "../../redact";
import { config } from "./config.server";

export { scrub };

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
