// The catalog as data: what can be sold (features) and the plans that sell it, in the shape of
// catalog/default.json (amounts in minor units). `parseCatalog` validates a catalog file, or
// today's PLANS_CONFIG shape converted, and names every error by its path
// (`plans.growth.prices.month: …`); `parseCatalogText` reads a catalog file's text, refusing a key
// written twice in one object. A leaf like the rest of domain/: config, billing and the CLI all
// read catalogs through here.
import { isPair, isScalar, isSeq, parseDocument, visit } from "yaml";
import { z } from "zod";

/** Feature and plan codes: what the API, Stripe metadata and meter event names carry. */
export const CATALOG_CODE = /^[a-z][a-z0-9_]{0,39}$/;
const code = z.string().regex(CATALOG_CODE, "a code is 1–40 of a-z 0-9 _ and starts with a letter");
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** Text Stripe shows (a product's name, a unit): Stripe refuses a NUL character in any string. */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !s.includes("\u0000"), "Stripe refuses the NUL character (\\u0000) in text");
/** An amount in minor units (cents); Stripe takes at most 8 digits for unit_amount. */
const minor = z.number().int().nonnegative().max(99_999_999);

export const FEATURE_TYPES = ["metered", "boolean", "numeric"] as const;
export type FeatureType = (typeof FEATURE_TYPES)[number];

const featureSchema = z
  .object({
    type: z.enum(FEATURE_TYPES),
    // What one unit of a metered feature is ("token"); optional for numeric ("seat").
    unit: text(40).optional(),
  })
  .strict();

// Overage is billed monthly only: a yearly price is a hard stop at the included units.
const overageSchema = z
  .object({
    priceCents: minor,
    per: z.number().int().min(1).max(1_000_000_000),
    interval: z.literal("month", { error: 'overage is offered on monthly prices only: "month"' }).default("month"),
  })
  .strict();

const meteredGrant = z.object({ included: count, overage: overageSchema.optional() }).strict();
const numericGrant = z.object({ limit: count.nullable() }).strict();
const booleanGrant = z.boolean();
const GRANTS = { metered: meteredGrant, numeric: numericGrant, boolean: booleanGrant } as const;

const planSchema = z
  .object({
    name: text(60),
    currency: z.string().regex(/^[a-z]{3}$/, "a lowercase ISO currency code, e.g. usd"),
    // Paid plans: a monthly price and optionally a yearly one. A trial has none of its own.
    prices: z.object({ month: minor, year: minor.optional() }).strict().optional(),
    // A trial: its length, and the plan whose price follows it (Stripe bills that price after the trial).
    trialDays: z.number().int().min(1).max(730).optional(),
    priceOf: code.optional(),
    // Each feature of the catalog the plan grants: metered `{ included, overage? }`, numeric
    // `{ limit }` (null: unlimited), boolean `true`/`false`. A feature left out is not granted.
    features: z.record(code, z.unknown()).default({}),
    // Stripe prices to bill instead of the ones the app makes (live mode: made by an operator).
    stripePriceIds: z
      .object({ month: z.string().startsWith("price_").optional(), year: z.string().startsWith("price_").optional() })
      .strict()
      .optional(),
  })
  .strict();

const topUpSchema = z
  .object({
    units: z.number().int().min(1).max(1_000_000_000),
    priceCents: minor.min(1),
    currency: z
      .string()
      .regex(/^[a-z]{3}$/)
      .default("usd"),
  })
  .strict();

export type Grant = z.output<typeof meteredGrant> | z.output<typeof numericGrant> | boolean;
export type MeteredGrant = z.output<typeof meteredGrant>;
export type FeatureSpec = z.output<typeof featureSchema>;
export type PlanSpec = Omit<z.output<typeof planSchema>, "features"> & { features: Record<string, Grant> };

const catalogSchema = z
  .object({
    // Set by `ops catalog:show --json`: the version the file was read from. A push of a file
    // read from an older version than the current one is refused (someone published since).
    version: z.number().int().min(1).optional(),
    features: z.record(code, featureSchema),
    plans: z.record(code, planSchema).refine((plans) => Object.keys(plans).length > 0, "a catalog has at least one plan"),
    topUps: z.record(code, topUpSchema).default({}),
  })
  .strict()
  .superRefine(checkCatalog);

export type CatalogFile = Omit<z.output<typeof catalogSchema>, "plans"> & { plans: Record<string, PlanSpec> };
/** A published catalog's content (the file without `version`). */
export type Catalog = Omit<CatalogFile, "version">;

type Ctx = z.RefinementCtx;

/** The rules across fields, each reported at the path it is about. */
function checkCatalog(c: z.output<typeof catalogSchema>, ctx: Ctx): void {
  for (const [featureCode, f] of Object.entries(c.features)) {
    if (f.type === "metered" && !f.unit)
      ctx.addIssue({ code: "custom", path: ["features", featureCode, "unit"], message: 'a metered feature names its unit, e.g. "token"' });
    if (f.type === "boolean" && f.unit) ctx.addIssue({ code: "custom", path: ["features", featureCode, "unit"], message: "a boolean feature has no unit" });
  }
  for (const [planCode, p] of Object.entries(c.plans)) {
    const at = (...path: (string | number)[]) => ["plans", planCode, ...path];
    if (p.priceOf !== undefined) {
      const follows = c.plans[p.priceOf];
      if (!follows) ctx.addIssue({ code: "custom", path: at("priceOf"), message: `names an unknown plan "${p.priceOf}"` });
      else if (follows.priceOf !== undefined || !follows.prices)
        ctx.addIssue({ code: "custom", path: at("priceOf"), message: `"${p.priceOf}" has no price of its own` });
      if (p.trialDays === undefined)
        ctx.addIssue({ code: "custom", path: at("trialDays"), message: "a plan billed at another plan's price is a trial: give its trialDays" });
      if (p.prices) ctx.addIssue({ code: "custom", path: at("prices"), message: "a trial has no prices of its own (priceOf's follows it)" });
    } else {
      if (!p.prices) ctx.addIssue({ code: "custom", path: at("prices"), message: "required: { month, year? } in minor units (or priceOf for a trial)" });
      if (p.trialDays !== undefined) ctx.addIssue({ code: "custom", path: at("priceOf"), message: "a trial names the plan whose price follows it" });
    }
    for (const [featureCode, grant] of Object.entries(p.features)) {
      const feature = c.features[featureCode];
      if (!feature) {
        ctx.addIssue({
          code: "custom",
          path: at("features", featureCode),
          message: `"${featureCode}" is not a feature of the catalog (features.${featureCode})`,
        });
        continue;
      }
      const parsed = GRANTS[feature.type].safeParse(grant);
      if (!parsed.success) {
        for (const issue of parsed.error.issues)
          ctx.addIssue({
            code: "custom",
            path: at("features", featureCode, ...(issue.path as (string | number)[])),
            message: `${feature.type}: ${issue.message}`,
          });
      } else p.features[featureCode] = parsed.data; // defaults applied (overage.interval)
    }
  }
  for (const featureCode of Object.keys(c.topUps)) {
    if (c.features[featureCode]?.type !== "metered")
      ctx.addIssue({ code: "custom", path: ["topUps", featureCode], message: `top-ups are of metered features; "${featureCode}" is not one` });
  }
  const currency = currencyOf(c);
  for (const at of pricedPaths(c))
    if (at.currency !== currency) ctx.addIssue({ code: "custom", path: at.path, message: `every plan and top-up is sold in ${currency}` });
}

/**
 * The one currency a catalog sells in. Stripe keeps a customer in one currency (an upgrade, a
 * top-up or an overage line in another is refused), so every plan and top-up shares it. When a
 * file mixes them, the plans' most common one (the first plan's on a tie) is the one it means.
 */
export function currencyOf(c: { plans: Record<string, { currency: string }> }): string {
  const currencies = Object.values(c.plans).map((p) => p.currency);
  const plansIn = (currency: string) => currencies.filter((x) => x === currency).length;
  return currencies.reduce((best, x) => (plansIn(x) > plansIn(best) ? x : best), currencies[0]);
}

/** Every currency the catalog names, with its path: each plan's and each top-up pack's. */
export function pricedPaths(c: {
  plans: Record<string, { currency: string }>;
  topUps: Record<string, { currency: string }>;
}): { path: string[]; currency: string }[] {
  return [
    ...Object.entries(c.plans).map(([code, p]) => ({ path: ["plans", code, "currency"], currency: p.currency })),
    ...Object.entries(c.topUps).map(([code, t]) => ({ path: ["topUps", code, "currency"], currency: t.currency })),
  ];
}

// ---- today's PLANS_CONFIG shape, converted -----------------------------------------------------

const legacyPlan = z
  .object({
    name: z.string().min(1),
    priceMonthly: z.number().int().nonnegative(),
    currency: z.string().length(3).toLowerCase(),
    includedUnits: z.record(z.literal("api_call"), z.number().int().positive()),
    trialDays: z.number().int().positive().optional(),
    priceOf: z.string().optional(),
    stripePriceId: z.string().startsWith("price_").optional(),
  })
  .strict();
const legacySchema = z.record(code, legacyPlan);
export type LegacyPlans = z.infer<typeof legacySchema>;

/** The catalog file of a PLANS_CONFIG in today's shape: `api_call` (unit "call") is its one feature. */
export function fromLegacyPlans(plans: LegacyPlans): unknown {
  return {
    features: { api_call: { type: "metered", unit: "call" } },
    plans: Object.fromEntries(
      Object.entries(plans).map(([planCode, p]) => [
        planCode,
        {
          name: p.name,
          currency: p.currency,
          ...(p.priceOf && p.priceOf !== planCode
            ? { priceOf: p.priceOf, trialDays: p.trialDays }
            : { prices: { month: p.priceMonthly }, trialDays: p.trialDays }),
          features: p.includedUnits.api_call === undefined ? {} : { api_call: { included: p.includedUnits.api_call } },
          ...(p.stripePriceId ? { stripePriceIds: { month: p.stripePriceId } } : {}),
        },
      ]),
    ),
  };
}

const isLegacy = (input: unknown): input is Record<string, unknown> =>
  typeof input === "object" && input !== null && !Array.isArray(input) && !("plans" in input) && !("features" in input);

// ---- parsing, with every error named by its path ------------------------------------------------

export type CatalogIssue = { path: string; message: string };

/** A catalog that does not validate: every issue, each with the path it is about. */
export class CatalogInvalid extends Error {
  constructor(readonly issues: CatalogIssue[]) {
    super(`the catalog is not valid:\n${issues.map((i) => `  ${i.path || "(catalog)"}: ${i.message}`).join("\n")}`);
    this.name = "CatalogInvalid";
  }
}

const pathOf = (path: readonly PropertyKey[]) => path.map(String).join(".");

function issuesOf(error: z.ZodError): CatalogIssue[] {
  return error.issues.map((i) => {
    const keys = i.code === "unrecognized_keys" ? i.keys : [];
    // An unknown key is named by its own path, not its parent's.
    if (keys.length === 1) return { path: pathOf([...i.path, keys[0]]), message: "unknown field" };
    // A bad key (a plan or feature code) says what a code must be.
    if (i.code === "invalid_key") return { path: pathOf(i.path), message: i.issues.map((inner) => inner.message).join("; ") };
    return { path: pathOf(i.path), message: i.message };
  });
}

/** A key's text as the catalog names it (keys of a JSON file are strings). */
const keyText = (key: unknown) => String(isScalar(key) ? key.value : key);

/**
 * The keys a JSON text writes twice in one object, each by its path: JSON.parse keeps the last one
 * silently, so a second `growth` or `prices` would publish whichever came last. `text` is JSON
 * (JSON.parse took it), which YAML 1.2 reads as it is; its parser keeps every pair, in order.
 */
function repeatedKeysOf(text: string): CatalogIssue[] {
  const issues = new Map<string, CatalogIssue>();
  const doc = parseDocument(text, { uniqueKeys: false });
  // JSON YAML cannot read as it is (none known): its pairs are not to be trusted, so none is named.
  if (doc.errors.length > 0) return [];
  visit(doc, {
    Map(_key, map, ancestry) {
      // The map's path: the key of each pair above it, the index of each list item above it.
      const chain = [...ancestry, map];
      const path: PropertyKey[] = [];
      for (let i = 0; i < chain.length - 1; i++) {
        const at = chain[i];
        if (isPair(at)) path.push(keyText(at.key));
        else if (isSeq(at)) path.push(at.items.indexOf(chain[i + 1] as never));
      }
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = keyText(pair.key);
        const at = pathOf([...path, key]);
        if (seen.has(key)) issues.set(at, { path: at, message: "is written twice in one object; write it once (JSON keeps only the last)" });
        seen.add(key);
      }
    },
  });
  return [...issues.values()];
}

/**
 * A catalog file's text: JSON (a SyntaxError when it is not), each key written once per object,
 * validated as parseCatalog does; throws CatalogInvalid naming each error by its path.
 */
export function parseCatalogText(text: string): CatalogFile {
  const json: unknown = JSON.parse(text);
  const repeated = repeatedKeysOf(text);
  if (repeated.length > 0) throw new CatalogInvalid(repeated);
  return parseCatalog(json);
}

/** Validates a catalog file (or today's PLANS_CONFIG shape); throws CatalogInvalid naming each error by its path. */
export function parseCatalog(input: unknown): CatalogFile {
  let file = input;
  if (isLegacy(input)) {
    const legacy = legacySchema.safeParse(input);
    if (!legacy.success) throw new CatalogInvalid(issuesOf(legacy.error));
    file = fromLegacyPlans(legacy.data);
  }
  const parsed = catalogSchema.safeParse(file);
  if (!parsed.success) throw new CatalogInvalid(issuesOf(parsed.error));
  return parsed.data as CatalogFile;
}

/** The catalog's content without the file's `version`, in a stable key order (what is stored and compared). */
export function contentOf(file: CatalogFile): Catalog {
  return canonical({ features: file.features, plans: file.plans, topUps: file.topUps }) as Catalog;
}

/** The same value with object keys sorted at every level: equal content, equal JSON text. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, canonical(v)]),
  );
}

// ---- reading a grant ------------------------------------------------------------------------------

/** Units included per period of a metered feature in a plan (0 when the plan does not grant it). */
export function includedOf(plan: PlanSpec, feature: string): number {
  const grant = plan.features[feature];
  return typeof grant === "object" && grant !== null && "included" in grant ? grant.included : 0;
}

/** The plans that own a Stripe price (a trial bills its priceOf's). */
export const billedAsOf = (planCode: string, plan: PlanSpec): string => plan.priceOf ?? planCode;

// ---- the difference between two catalogs ----------------------------------------------------------

export type CatalogChange = { path: string; from?: unknown; to?: unknown };

/** Every leaf that differs, by path: added (`to` only), removed (`from` only) or changed. */
export function diffCatalogs(from: unknown, to: unknown, path: string[] = []): CatalogChange[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObject(from) && isObject(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
    return keys.flatMap((k) => diffCatalogs(from[k], to[k], [...path, k]));
  }
  if (JSON.stringify(from) === JSON.stringify(to)) return [];
  const at = path.join(".");
  if (from === undefined) return [{ path: at, to }];
  if (to === undefined) return [{ path: at, from }];
  return [{ path: at, from, to }];
}
