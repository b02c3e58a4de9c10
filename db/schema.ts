// The database schema (drizzle), one file per concern; drizzle-kit generates db/migrations from
// what this module exports. The files import each other downward only (notify needs organisations).
export * from "./schema-catalog";
export * from "./schema-core";
export * from "./schema-credits";
export * from "./schema-notify";
export * from "./schema-overage";
export * from "./schema-stigg";
