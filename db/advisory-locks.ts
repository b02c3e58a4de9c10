// Every Postgres advisory lock the system takes, in one place, so no two uses share a key. They
// are what lets any number of app and worker processes, on any number of machines, share one
// database: work that must run once at a time takes its lock in Postgres, not in a process.
export const ADVISORY_LOCKS = {
  /** Applying migrations (db/migrate.ts). */
  migrate: 7245001,
  /** Reporting usage to Stripe (app/server/billing/meter-report.server.ts). */
  usageReport: 7245002,
  /** Creating the usage ledger's monthly partitions (app/server/usage/partitions.server.ts). */
  partitions: 7245003,
  /** Publishing a catalog version (app/server/billing/catalog.server.ts). */
  catalog: 7245004,
} as const;
