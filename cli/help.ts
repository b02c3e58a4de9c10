// The ops commands and their arguments, readable without loading the app's configuration (so
// `--help` and a mistyped command answer even where no database is configured).
export const COMMAND_ARGS = {
  "org:create": "org:create <orgId> [--name N] [--email E]",
  subscribe: "subscribe <orgId> <planCode> [--interval month|year]",
  "key:create": "key:create <orgId> [--name N]",
  "key:revoke": "key:revoke <keyId>",
  usage: "usage <orgId>",
  "clock:advance": "clock:advance <orgId> <duration>",
  replay: "replay <eventId>",
  jobs: "jobs",
  drift: "drift [periodKey]",
  "sessions:revoke": "sessions:revoke <email>",
  slo: "slo",
  "sentry:test": "sentry:test",
  "stripe:check": "stripe:check",
  "stigg:check": "stigg:check",
  retention: "retention [--apply]",
  backup: "backup [file]",
  restore: "restore <file> [--database NAME | --dir FOLDER]",
  "catalog:push": "catalog:push <file>",
  "catalog:show": "catalog:show",
  "catalog:migrate": "catalog:migrate <planCode> --from V --to W [--at renewal|now]",
  "overage:backfill": "overage:backfill [--apply]",
} as const;

export const usage = `usage: bun run ops <command> [--json]   (or: npm run ops -- <command>)\n\n${Object.values(COMMAND_ARGS)
  .map((a) => `  ${a}`)
  .join("\n")}`;

/** How many arguments a command's usage line takes at most: its `<arg>` and `[arg]`, not its `[--flag …]`. */
export const positionalsOf = (line: string): number => (line.match(/<[^>]+>|\[(?!-)[^\]]+\]/g) ?? []).length;
