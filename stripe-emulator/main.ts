// `bun stripe-emulator/main.ts`: runs the local Stripe on its own (the run command starts it).
import { startStripeLocal } from "./index";

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error("DATABASE_URL is not set");
  process.exit(1);
}
const port = Number(process.env.STRIPE_LOCAL_PORT ?? 12111);
const local = await startStripeLocal({
  port,
  databaseUrl,
  publicUrl: process.env.STRIPE_LOCAL_PUBLIC_URL,
  webhook: process.env.STRIPE_WEBHOOK_URL ? { url: process.env.STRIPE_WEBHOOK_URL, secret: process.env.STRIPE_WEBHOOK_SECRET ?? "" } : undefined,
  log: (line) => console.log(JSON.stringify({ level: "info", time: new Date().toISOString(), msg: line })),
});
const stop = async () => {
  await local.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
