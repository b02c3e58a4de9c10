// The flows against a fresh local Stripe (its own schema of DATABASE_URL's database), recorded: what
// a recording from a real account is compared with.
import Stripe from "stripe";
import { startStripeLocal } from "../../stripe-emulator/index";
import { runFlows } from "./flows";
import type { Recording } from "./recording";

export async function recordLocally(): Promise<Recording> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("DATABASE_URL is not set: the local Stripe keeps its state in Postgres");
  const schema = `stripe_realsuite_${crypto.randomUUID().slice(0, 8)}`;
  const local = await startStripeLocal({ port: 0, databaseUrl, schema, meterLagMs: 0 });
  try {
    const stripe = new Stripe("sk_test_realsuite", { host: "127.0.0.1", port: local.port, protocol: "http", maxNetworkRetries: 0 });
    return await runFlows(stripe, "local");
  } finally {
    await local.stop();
    // The schema was this run's alone.
    const postgres = (await import("postgres")).default;
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    await sql`drop schema if exists ${sql(schema)} cascade`;
    await sql.end();
  }
}
