// ops catalog:push and catalog:show: the catalog file in, the current version out. What
// `catalog:show --json` prints, `catalog:push` accepts back (its `version` says which version it
// was read from: a push over a newer one is refused).
import { readFileSync } from "node:fs";
import { catalogChanges, catalogHistory, conflictsOf, currentCatalog, publishCatalog } from "../app/server/billing/catalog.server";
import { type MigrationResult, migrateSubscribers } from "../app/server/billing/catalog-migrate.server";
import { upstream } from "../app/server/billing/stripe.server";
import { prepareStripeFor } from "../app/server/billing/stripe-catalog.server";
import { type CatalogChange, CatalogInvalid, canonical, contentOf, parseCatalog, parseCatalogText } from "../app/server/domain/catalog.server";
import { AppError } from "../app/server/platform/errors.server";
import { COMMAND_ARGS } from "./help";

const invalid = (issues: { path: string; message: string }[], what: string) =>
  new AppError("VALIDATION_FAILED", `${what} is not a valid catalog:\n${issues.map((i) => `  ${i.path || "(catalog)"}: ${i.message}`).join("\n")}`, { issues });

function readCatalogFile(file: string) {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new AppError("VALIDATION_FAILED", `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "unreadable"})`);
  }
  try {
    return parseCatalogText(text);
  } catch (err) {
    if (err instanceof SyntaxError) throw new AppError("VALIDATION_FAILED", `${file} is not valid JSON: ${err.message}`);
    if (err instanceof CatalogInvalid) throw invalid(err.issues, file);
    throw err;
  }
}

const show = (v: unknown) => JSON.stringify(v);
/** One line per change: `+` added, `-` removed, `~` changed. */
export const changeLines = (changes: CatalogChange[]) =>
  changes.map((c) =>
    c.from === undefined ? `+ ${c.path}: ${show(c.to)}` : c.to === undefined ? `- ${c.path}: ${show(c.from)}` : `~ ${c.path}: ${show(c.from)} → ${show(c.to)}`,
  );

type Pushed = { published: boolean; version: number; changes: CatalogChange[] };

export const catalogPush = {
  args: COMMAND_ARGS["catalog:push"],
  run: async ([file]: string[]): Promise<Pushed> => {
    if (!file) throw new AppError("VALIDATION_FAILED", `usage: bun run ops ${COMMAND_ARGS["catalog:push"]}`);
    const parsed = readCatalogFile(file);
    const content = contentOf(parsed);
    const { current, changes } = await catalogChanges(content);
    if (current && changes.length === 0) return { published: false, version: current.version, changes: [] };
    const conflicts = await conflictsOf(content, parsed.version);
    if (conflicts.length > 0) throw invalid(conflicts, file);
    process.stderr.write(`${changeLines(changes).join("\n")}\npreparing Stripe (meters, prices) before publishing…\n`);
    // Stripe first: the version goes live only once every price and meter it names exists.
    const stripe = await upstream(() => prepareStripeFor(content, (line) => process.stderr.write(`  ${line}\n`)));
    try {
      return await publishCatalog({ content, source: "catalog:push", stripe, basedOn: parsed.version });
    } catch (err) {
      if (err instanceof CatalogInvalid) throw invalid(err.issues, file);
      throw err;
    }
  },
  human: (r: Pushed) =>
    r.published
      ? [`published catalog version ${r.version}:`, ...changeLines(r.changes)].join("\n")
      : `no change: version ${r.version} is current, nothing published`,
};

type CatalogFileOut = Record<string, unknown> & { version: number };
type Shown = { file: CatalogFileOut; text: string };

export const catalogShow = {
  args: COMMAND_ARGS["catalog:show"],
  run: async (): Promise<Shown> => {
    const current = await currentCatalog();
    if (!current)
      throw new AppError("NOT_FOUND", "No catalog has been published yet: the app publishes PLANS_CONFIG (or the default) at start, or run catalog:push FILE.");
    const file = { version: current.version, ...(canonical(current.content) as Record<string, unknown>) };
    return { file, text: await catalogText(file) };
  },
  // --json prints the catalog file itself, so it can be edited and pushed back.
  json: (r: Shown) => r.file,
  human: (r: Shown) => r.text,
};

const grantText = (g: unknown) =>
  typeof g === "boolean"
    ? g
      ? "yes"
      : "no"
    : g && typeof g === "object" && "included" in g
      ? String(g.included)
      : g && typeof g === "object" && "limit" in g
        ? String(g.limit ?? "unlimited")
        : "—";

/** The human view of catalog:show: the current version's features and plans, then every version. */
async function catalogText(file: CatalogFileOut): Promise<string> {
  const c = contentOf(parseCatalog(file));
  const history = await catalogHistory();
  const features = Object.keys(c.features);
  const price = (p: (typeof c.plans)[string]) =>
    p.prices
      ? `${p.prices.month}/month${p.prices.year !== undefined ? `, ${p.prices.year}/year` : ""} ${p.currency}`
      : `${p.trialDays} days, then ${p.priceOf}`;
  return [
    `catalog version ${file.version} (amounts in minor units)`,
    `features: ${features.map((f) => `${f} (${c.features[f].type}${c.features[f].unit ? `, ${c.features[f].unit}` : ""})`).join(", ")}`,
    ...Object.entries(c.plans).map(
      ([code, p]) => `  ${code.padEnd(12)} ${price(p).padEnd(28)} ${features.map((f) => `${f}=${grantText(p.features[f])}`).join(" ")}`,
    ),
    "versions:",
    ...history.map(
      (h) =>
        `  v${h.version} ${h.publishedAt.toISOString()} by ${h.source}: ${Object.entries(h.plans)
          .map(([p, v]) => `${p} v${v}`)
          .join(", ")}`,
    ),
  ].join("\n");
}

const versionFlag = (value: string | undefined, flag: string) => {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 1)
    throw new AppError("VALIDATION_FAILED", `${flag} must be a plan version number (e.g. ${flag} 1); usage: bun run ops ${COMMAND_ARGS["catalog:migrate"]}`);
  return n;
};

export const catalogMigrate = {
  args: COMMAND_ARGS["catalog:migrate"],
  run: async ([planCode]: string[], f: { from?: string; to?: string; at?: string }): Promise<MigrationResult> => {
    if (!planCode) throw new AppError("VALIDATION_FAILED", `usage: bun run ops ${COMMAND_ARGS["catalog:migrate"]}`);
    const from = versionFlag(f.from, "--from");
    const to = versionFlag(f.to, "--to");
    const at = f.at ?? "renewal";
    if (at !== "renewal" && at !== "now") throw new AppError("VALIDATION_FAILED", `--at is renewal or now, not "${at}"`);
    // The first line once the versions are checked: a refused move prints only its refusal.
    return migrateSubscribers({ planCode, from, to, at }, (line) => process.stderr.write(`${line}\n`));
  },
  human: (r: MigrationResult) =>
    r.subscribers.length === 0 && r.skipped.length === 0
      ? `no live subscriber of ${r.planCode} v${r.from}: nothing moved`
      : `${r.subscribers.length} subscriber(s) of ${r.planCode} moved from v${r.from} to v${r.to} ${r.at === "now" ? "now" : "at their renewal"}` +
        (r.skipped.length > 0 ? `; ${r.skipped.length} not moved (${r.skipped.map((s) => `${s.orgId}: ${s.reason}`).join("; ")})` : ""),
};
