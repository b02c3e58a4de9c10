// `bun run ops <command> [--json]`: the operators' CLI. Talks to the database (and, from the
// Stripe issue on, Stripe) directly; run it next to the app. With --json it prints exactly one
// JSON object on stdout; errors go to stderr with a hint and exit 1.
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { join } from "node:path";

// Next to `npm start` with no DATABASE_URL, the system runs on the embedded Postgres.
if (!process.env.DATABASE_URL && existsSync(join(import.meta.dir, "..", ".data/pg/data/PG_VERSION"))) {
  process.env.DATABASE_URL = `postgres://postgres:postgres@127.0.0.1:${process.env.EMBEDDED_PG_PORT ?? 54320}/metered`;
}
process.env.LOG_LEVEL ??= "warn";

import { COMMAND_ARGS, usage } from "./usage";

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { json: { type: "boolean", default: false }, name: { type: "string" }, email: { type: "string" }, help: { type: "boolean", short: "h" } },
  allowPositionals: true,
  strict: true,
});
const [name, ...args] = positionals;
if (!name || !(name in COMMAND_ARGS) || values.help) {
  console.error(usage);
  process.exit(values.help ? 0 : 1);
}
const { commands } = await import("./commands");
const command = commands[name];

let code = 0;
try {
  const result = await command.run(args, values);
  console.log(values.json ? JSON.stringify(result) : command.human(result as never));
} catch (err) {
  const e = err as { code?: string; message?: string };
  if (values.json) console.log(JSON.stringify({ ok: false, error: { code: e.code ?? "INTERNAL", message: e.message ?? String(err) } }));
  else console.error(`error: ${e.message ?? String(err)}`);
  code = 1;
}
const { closeAll } = await import("./commands");
await closeAll();
process.exit(code);
