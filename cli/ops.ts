// `bun run ops <command> [--json]`: the operators' CLI. Talks to the database (and, from the
// Stripe issue on, Stripe) directly; run it next to the app. With --json it prints exactly one
// JSON object on stdout; errors go to stderr with a hint and exit 1.
import { parseArgs } from "node:util";
import { adoptRunState } from "../scripts/run-state";
import { COMMAND_ARGS, positionalsOf, usage } from "./help";

process.env.LOG_LEVEL ??= "warn";
// Operators' commands run without the app's session timeouts (a drift report or a replay may
// take what it takes); set one explicitly to keep it.
for (const name of ["DATABASE_HOT_TIMEOUT_MS", "DATABASE_STATEMENT_TIMEOUT_MS", "DATABASE_LOCK_TIMEOUT_MS", "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS"])
  process.env[name] ??= "0";

const argv = process.argv.slice(2);
/** One command's usage line when `name` is a command, the whole list otherwise. */
const usageOf = (name: string | undefined) =>
  name !== undefined && name in COMMAND_ARGS ? `usage: bun run ops ${COMMAND_ARGS[name as keyof typeof COMMAND_ARGS]}` : usage;
const parseOptions = () =>
  parseArgs({
    args: argv,
    options: {
      json: { type: "boolean", default: false },
      name: { type: "string" },
      email: { type: "string" },
      apply: { type: "boolean", default: false },
      database: { type: "string" },
      dir: { type: "string" },
      interval: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      at: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
let parsed: ReturnType<typeof parseOptions>;
try {
  // No command takes a negative value; the option parser would read "-5d" as the flags -5 and -d.
  const negative = argv.find((a) => /^-\d/.test(a));
  if (negative !== undefined) throw new Error(`"${negative}": no value of a command is negative`);
  parsed = parseOptions();
} catch (err) {
  // A mistyped flag is the operator's input error, answered like any other: no stack trace.
  const message = (err as Error).message;
  if (argv.includes("--json")) console.log(JSON.stringify({ ok: false, error: { code: "VALIDATION_FAILED", message } }));
  else console.error(`error: ${message}\n${usageOf(argv.find((a) => !a.startsWith("-")))}`);
  process.exit(1);
}
const { values, positionals } = parsed;
const [name, ...args] = positionals;
if (!name || !(name in COMMAND_ARGS) || values.help) {
  console.error(usage);
  process.exit(values.help ? 0 : 1);
}
const extra = args.slice(positionalsOf(COMMAND_ARGS[name as keyof typeof COMMAND_ARGS]));
if (extra.length > 0) {
  const message = `${name} does not take ${extra.map((a) => `"${a}"`).join(" ")}`;
  if (values.json) console.log(JSON.stringify({ ok: false, error: { code: "VALIDATION_FAILED", message } }));
  else console.error(`error: ${message}\n${usageOf(name)}`);
  process.exit(1);
}
// Next to `npm start` with no DATABASE_URL: the database and local Stripe that run wrote down.
let unreachable: string | null;
try {
  unreachable = adoptRunState(process.env);
} catch (err) {
  unreachable = `could not read the state file of \`npm start\`: ${(err as Error).message}`;
}
if (unreachable) {
  if (values.json) console.log(JSON.stringify({ ok: false, error: { code: "SERVICE_UNAVAILABLE", message: unreachable } }));
  else console.error(`error: ${unreachable}`);
  process.exit(1);
}
const { commands } = await import("./commands");
const command = commands[name];

let code = 0;
try {
  const result = await command.run(args, values);
  console.log(values.json ? JSON.stringify(command.json ? command.json(result as never) : result) : command.human(result as never));
  code = command.exitCode?.(result as never) ?? 0;
} catch (err) {
  const e = err as { code?: string; message?: string };
  if (values.json) console.log(JSON.stringify({ ok: false, error: { code: e.code ?? "INTERNAL", message: e.message ?? String(err) } }));
  else console.error(`error: ${e.message ?? String(err)}`);
  code = 1;
}
const { closeAll } = await import("./commands");
await closeAll();
process.exit(code);
