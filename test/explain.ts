// A database session that logs the plan of every statement it runs, nested ones too (plpgsql's),
// as Postgres ran them (auto_explain): for tests that hold a query to an index.
import postgres from "postgres";

/** A new session (its plans are made on the data as it is now) and the plans it has logged so far. */
export async function explainingSession(): Promise<{ session: postgres.Sql; plans: string[] }> {
  const plans: string[] = [];
  const session = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: (notice) => plans.push(String(notice.message)) });
  await session`load 'auto_explain'`;
  await session`set auto_explain.log_min_duration = 0`;
  await session`set auto_explain.log_nested_statements = on`;
  await session`set client_min_messages = log`;
  return { session, plans };
}
