// The local Stigg's state, in its own schema of the app's Postgres (default `stigg_local`) so it
// survives restarts: customers, subscriptions (with the `updatedAt` an import carried), features
// and plans (with their entitlements). Rows hold the objects whole as JSON.
import postgres from "postgres";

export type StoredFeature = {
  refId: string;
  featureType: "BOOLEAN" | "NUMBER";
  meterType: "None" | "Incremental" | "Fluctuating";
  displayName: string;
  featureUnits: string | null;
  featureUnitsPlural: string | null;
  description: string | null;
};
export type StoredEntitlement = { featureId: string; usageLimit: number | null; hasUnlimitedUsage: boolean; resetPeriod: "MONTH" | null };
export type StoredPlan = {
  id: string;
  refId: string;
  displayName: string;
  status: "DRAFT" | "PUBLISHED";
  versionNumber: number;
  additionalMetaData: Record<string, unknown> | null;
  entitlements: StoredEntitlement[];
};
export type StoredCustomer = {
  id: string;
  refId: string;
  name: string | null;
  email: string | null;
  billingId: string | null;
  additionalMetaData: unknown;
  createdAt: string;
  updatedAt: string;
};
export type StoredSubscription = {
  id: string;
  subscriptionId: string;
  customerId: string;
  planId: string;
  billingId: string | null;
  status: "ACTIVE" | "IN_TRIAL" | "CANCELED";
  startDate: string;
  endDate: string | null;
  additionalMetaData: unknown;
  updatedAt: string;
};

export class StiggStore {
  readonly sql: postgres.Sql;

  constructor(
    url: string,
    readonly schema: string,
  ) {
    this.sql = postgres(url, { max: 4, onnotice: () => {}, connection: { search_path: schema } });
  }

  async init() {
    await this.sql.unsafe(`create schema if not exists "${this.schema}"`);
    await this.sql.unsafe(`
      create table if not exists "${this.schema}".customers (ref_id text primary key, data jsonb not null);
      create table if not exists "${this.schema}".subscriptions (subscription_id text primary key, customer_id text not null, updated_at timestamptz not null, data jsonb not null);
      create index if not exists subscriptions_customer on "${this.schema}".subscriptions (customer_id);
      create table if not exists "${this.schema}".features (ref_id text primary key, data jsonb not null);
      create table if not exists "${this.schema}".plans (ref_id text primary key, id text not null unique, data jsonb not null);`);
  }

  /** Runs `fn` in one transaction holding the store's lock: mutations never interleave, across processes too. */
  async locked<T>(fn: (sql: postgres.TransactionSql) => Promise<T>): Promise<T> {
    return (await this.sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtext(${`stigg_local:${this.schema}`}))`;
      return fn(tx);
    })) as T;
  }

  async customer(refId: string, sql: postgres.Sql | postgres.TransactionSql = this.sql): Promise<StoredCustomer | null> {
    const [row] = await sql<{ data: StoredCustomer }[]>`select data from customers where ref_id = ${refId}`;
    return row?.data ?? null;
  }

  async putCustomer(c: StoredCustomer, sql: postgres.TransactionSql) {
    await sql`insert into customers (ref_id, data) values (${c.refId}, ${sql.json(c as never)}) on conflict (ref_id) do update set data = excluded.data`;
  }

  /** The customer's current subscription: the newest one not canceled. */
  async activeSubscription(customerId: string, sql: postgres.Sql | postgres.TransactionSql = this.sql): Promise<StoredSubscription | null> {
    const rows = await sql<{ data: StoredSubscription }[]>`select data from subscriptions where customer_id = ${customerId} order by updated_at desc`;
    return rows.map((r) => r.data).find((s) => s.status !== "CANCELED") ?? null;
  }

  async subscription(subscriptionId: string, sql: postgres.Sql | postgres.TransactionSql = this.sql): Promise<StoredSubscription | null> {
    const [row] = await sql<{ data: StoredSubscription }[]>`select data from subscriptions where subscription_id = ${subscriptionId}`;
    return row?.data ?? null;
  }

  async putSubscription(s: StoredSubscription, sql: postgres.TransactionSql) {
    await sql`insert into subscriptions (subscription_id, customer_id, updated_at, data) values (${s.subscriptionId}, ${s.customerId}, ${s.updatedAt}, ${sql.json(s as never)})
              on conflict (subscription_id) do update set customer_id = excluded.customer_id, updated_at = excluded.updated_at, data = excluded.data`;
  }

  async feature(refId: string, sql: postgres.Sql | postgres.TransactionSql = this.sql): Promise<StoredFeature | null> {
    const [row] = await sql<{ data: StoredFeature }[]>`select data from features where ref_id = ${refId}`;
    return row?.data ?? null;
  }

  async putFeature(f: StoredFeature, sql: postgres.TransactionSql) {
    await sql`insert into features (ref_id, data) values (${f.refId}, ${sql.json(f as never)})`;
  }

  async plan(ref: { refId?: string; id?: string }, sql: postgres.Sql | postgres.TransactionSql = this.sql): Promise<StoredPlan | null> {
    const [row] = ref.refId
      ? await sql<{ data: StoredPlan }[]>`select data from plans where ref_id = ${ref.refId}`
      : await sql<{ data: StoredPlan }[]>`select data from plans where id = ${ref.id ?? ""}`;
    return row?.data ?? null;
  }

  async plans(): Promise<StoredPlan[]> {
    return (await this.sql<{ data: StoredPlan }[]>`select data from plans order by ref_id`).map((r) => r.data);
  }

  async putPlan(p: StoredPlan, sql: postgres.TransactionSql) {
    await sql`insert into plans (ref_id, id, data) values (${p.refId}, ${p.id}, ${sql.json(p as never)}) on conflict (ref_id) do update set data = excluded.data`;
  }

  async close() {
    await this.sql.end({ timeout: 2 });
  }
}
