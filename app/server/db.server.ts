// The database connection, shared by the app, the worker and the ops CLI. postgres.js runs the
// hot-path SQL directly (prepared statements); drizzle is used everywhere else.
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import * as schema from "../../db/schema";
import { config } from "./config.server";

export function connect(url: string, max: number, appName: string) {
  return postgres(url, {
    max,
    idle_timeout: 30,
    connect_timeout: 5,
    onnotice: () => {},
    // int8 counters fit a JS number (2^53); quantities are capped at 1,000,000.
    types: { bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
    connection: { application_name: appName, TimeZone: "UTC" },
  });
}

export const sql = connect(config.DATABASE_URL, config.DATABASE_POOL_SIZE, "metered-app");
// Note: drizzle makes this client return timestamps as strings on raw queries; raw SQL here
// selects epoch milliseconds instead (see usage.server.ts).
export const db = drizzle(sql, { schema });
export type Db = typeof db;
export { schema };
