// The emulator's state, in its own schema of the app's Postgres so it survives restarts. Objects
// are stored whole as JSON; every mutation runs under one in-process lock (one emulator process).
import postgres from "postgres";

export class Store {
  readonly sql: postgres.Sql;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    url: string,
    readonly schema: string,
  ) {
    this.sql = postgres(url, { max: 4, onnotice: () => {}, connection: { search_path: schema } });
  }

  async init() {
    await this.sql.unsafe(`create schema if not exists "${this.schema}"`);
    await this.sql.unsafe(`
      create table if not exists "${this.schema}".objects (id text primary key, type text not null, customer text, data jsonb not null, seq bigserial);
      create index if not exists objects_type_idx on "${this.schema}".objects (type, seq);
      create table if not exists "${this.schema}".idempotency (key text primary key, fingerprint text not null, status int not null, body text not null, created_at timestamptz not null default now());
      create table if not exists "${this.schema}".deliveries (event_id text not null, endpoint_id text, seq bigserial, attempts int not null default 0, next_at timestamptz not null default now(), delivered_at timestamptz, last_status int);
      -- One delivery per event and webhook endpoint (a store from before endpoints had one per event).
      alter table "${this.schema}".deliveries add column if not exists endpoint_id text;
      alter table "${this.schema}".deliveries drop constraint if exists deliveries_pkey;
      create unique index if not exists deliveries_event_endpoint on "${this.schema}".deliveries (event_id, endpoint_id);
      alter table "${this.schema}".deliveries add column if not exists given_up_at timestamptz;
      create table if not exists "${this.schema}".counters (name text primary key, value bigint not null);`);
  }

  /** Runs `fn` alone: the emulator's mutations never interleave. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  async get<T = any>(id: string): Promise<T | null> {
    const [row] = await this.sql<{ data: T }[]>`select data from objects where id = ${id}`;
    return row?.data ?? null;
  }

  async put(obj: { id: string; object: string; customer?: unknown }): Promise<void> {
    const customer = typeof obj.customer === "string" ? obj.customer : obj.object === "customer" ? obj.id : null;
    await this.sql`insert into objects (id, type, customer, data) values (${obj.id}, ${obj.object}, ${customer}, ${this.sql.json(obj as never)})
                   on conflict (id) do update set data = excluded.data, customer = excluded.customer`;
  }

  async list<T = any>(type: string, filter: (o: T) => boolean = () => true): Promise<T[]> {
    const rows = await this.sql<{ data: T }[]>`select data from objects where type = ${type} order by seq desc`;
    return rows.map((r) => r.data).filter(filter);
  }

  /** The customer's objects of one type, newest first. */
  async ofCustomer<T = any>(type: string, customer: string): Promise<T[]> {
    const rows = await this.sql<{ data: T }[]>`select data from objects where type = ${type} and customer = ${customer} order by seq desc`;
    return rows.map((r) => r.data);
  }

  async next(name: string): Promise<number> {
    const [row] = await this.sql<{ value: string }[]>`insert into counters (name, value) values (${name}, 1)
      on conflict (name) do update set value = counters.value + 1 returning value`;
    return Number(row.value);
  }

  async close() {
    await this.sql.end({ timeout: 2 });
  }
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export function newId(prefix: string): string {
  let s = "";
  for (const b of crypto.getRandomValues(new Uint8Array(24))) s += ALPHABET[b % 62];
  return `${prefix}_${s}`;
}
