// `bun stripe-emulator/main.ts`: runs the local Stripe on its own (the run command starts it).
import { databaseUrlOrExit, logLine, stopWhenAsked } from "../scripts/stand-in";
import { DEFAULT_DUNNING } from "./account";
import { startStripeLocal } from "./index";

const databaseUrl = databaseUrlOrExit();
const port = Number(process.env.STRIPE_LOCAL_PORT ?? 12111);
// The account's failed-payment settings: retry days after the first failure, then cancel or unpaid.
const retryDays = (process.env.STRIPE_LOCAL_RETRY_DAYS ?? DEFAULT_DUNNING.retryDays.join(",")).split(",").filter(Boolean).map(Number);
const finalAction = process.env.STRIPE_LOCAL_DUNNING_FINAL ?? DEFAULT_DUNNING.finalAction;
if (retryDays.some((d) => !Number.isInteger(d) || d < 1) || (finalAction !== "cancel" && finalAction !== "unpaid")) {
  console.error("STRIPE_LOCAL_RETRY_DAYS must be whole days (e.g. 3,5,7) and STRIPE_LOCAL_DUNNING_FINAL cancel or unpaid");
  process.exit(1);
}
const local = await startStripeLocal({
  port,
  databaseUrl,
  publicUrl: process.env.STRIPE_LOCAL_PUBLIC_URL,
  dunning: { retryDays, finalAction },
  // The endpoint registered at start: URL, secret and event types (STRIPE_WEBHOOK_EVENTS, comma-separated; default all).
  webhook: process.env.STRIPE_WEBHOOK_URL
    ? {
        url: process.env.STRIPE_WEBHOOK_URL,
        secret: process.env.STRIPE_WEBHOOK_SECRET ?? "",
        events: process.env.STRIPE_WEBHOOK_EVENTS?.split(",").filter(Boolean),
      }
    : undefined,
  log: logLine,
});
stopWhenAsked(() => local.stop());
