// Billing portal configurations: what the hosted portal lets a customer do. Created, listed,
// retrieved and updated through the API with Stripe's parameters (the subset below; anything else
// is refused as unknown) and defaults: a feature not named is off, cancel is at period end without
// proration. A configuration made through the API is never the default (the Dashboard's portal
// settings make that one), and the default one cannot be deactivated.
import type Stripe from "stripe";
import { type Account, invalid, missing } from "./account";
import { arr, bool, type FormValue, meta, obj, str } from "./form";
import { array, boolean, listParams, metadata, object, oneOf, type Param, string } from "./params";
import { list, type Route } from "./route";
import { newId } from "./store";

type Config = Stripe.BillingPortal.Configuration;
type Features = Config["features"];

const proration = oneOf("always_invoice", "create_prorations", "none");
const featureParams: Param = object({
  customer_update: object({ enabled: boolean, allowed_updates: array(oneOf("address", "email", "name", "phone", "shipping", "tax_id")) }),
  invoice_history: object({ enabled: boolean }),
  payment_method_update: object({ enabled: boolean }),
  subscription_cancel: object({
    enabled: boolean,
    mode: oneOf("at_period_end", "immediately"),
    proration_behavior: proration,
    cancellation_reason: object({
      enabled: boolean,
      options: array(oneOf("customer_service", "low_quality", "missing_features", "other", "switched_service", "too_complex", "too_expensive", "unused")),
    }),
  }),
  subscription_update: object({
    enabled: boolean,
    default_allowed_updates: array(oneOf("price", "promotion_code", "quantity")),
    proration_behavior: proration,
    products: array(object({ product: string, prices: array(string) })),
  }),
});

/** Stripe requires `enabled` in these features whenever they are named (all of them on create). */
const ENABLED_REQUIRED = {
  create: ["customer_update", "invoice_history", "payment_method_update", "subscription_cancel", "subscription_update"],
  update: ["invoice_history", "payment_method_update"],
};
function requireEnabled(raw: FormValue | undefined, keys: string[]) {
  const f = obj(raw);
  for (const key of keys)
    if (f[key] !== undefined && obj(f[key]).enabled === undefined)
      throw invalid(`Missing required param: features[${key}][enabled].`, `features[${key}][enabled]`);
}

const common = {
  business_profile: object({ headline: string, privacy_policy_url: string, terms_of_service_url: string }),
  default_return_url: string,
  metadata,
  name: string,
  login_page: object({ enabled: boolean }),
};

const DEFAULT_FEATURES: Features = {
  customer_update: { allowed_updates: [], enabled: false },
  invoice_history: { enabled: false },
  payment_method_update: { enabled: false, payment_method_configuration: null },
  subscription_cancel: {
    cancellation_reason: { enabled: false, feedback_options: null, options: [] },
    enabled: false,
    mode: "at_period_end",
    proration_behavior: "none",
  },
  subscription_pause: { duration: { interval_options: [], type: "indefinite" }, enabled: false },
  subscription_update: {
    billing_cycle_anchor: null,
    default_allowed_updates: [],
    enabled: false,
    products: [],
    proration_behavior: "none",
    schedule_at_period_end: { conditions: [] },
    trial_update_behavior: "end_trial",
  },
};

/** The features after applying the request's `features[...]` over `current`. */
function applyFeatures(current: Features, raw: FormValue | undefined): Features {
  const next = structuredClone(current);
  const f = obj(raw);
  const on = (v: FormValue | undefined, was: boolean) => bool(v) ?? was;
  const cu = obj(f.customer_update);
  if (f.customer_update !== undefined) {
    next.customer_update.enabled = on(cu.enabled, next.customer_update.enabled);
    if (cu.allowed_updates !== undefined) next.customer_update.allowed_updates = arr(cu.allowed_updates).map(String);
  }
  if (f.invoice_history !== undefined) next.invoice_history.enabled = on(obj(f.invoice_history).enabled, next.invoice_history.enabled);
  if (f.payment_method_update !== undefined) next.payment_method_update.enabled = on(obj(f.payment_method_update).enabled, next.payment_method_update.enabled);
  const sc = obj(f.subscription_cancel);
  if (f.subscription_cancel !== undefined) {
    const cancel = next.subscription_cancel;
    cancel.enabled = on(sc.enabled, cancel.enabled);
    cancel.mode = str(sc.mode) ?? cancel.mode;
    cancel.proration_behavior = str(sc.proration_behavior) ?? cancel.proration_behavior;
    const reason = obj(sc.cancellation_reason);
    if (sc.cancellation_reason !== undefined) {
      cancel.cancellation_reason.enabled = on(reason.enabled, cancel.cancellation_reason.enabled);
      if (reason.options !== undefined) cancel.cancellation_reason.options = arr(reason.options).map(String);
    }
  }
  const su = obj(f.subscription_update);
  if (f.subscription_update !== undefined) {
    const update = next.subscription_update;
    update.enabled = on(su.enabled, update.enabled);
    update.proration_behavior = str(su.proration_behavior) ?? update.proration_behavior;
    if (su.default_allowed_updates !== undefined) update.default_allowed_updates = arr(su.default_allowed_updates).map(String);
    if (su.products !== undefined)
      update.products = arr(su.products).map((p) => ({
        product: str(obj(p).product) ?? "",
        prices: arr(obj(p).prices).map(String),
        adjustable_quantity: { enabled: false, maximum: null, minimum: 1 },
      }));
  }
  if (next.subscription_update.enabled && !next.subscription_update.products?.length)
    throw invalid("You must provide at least one product to enable subscription updates.", "features[subscription_update][products]");
  return next;
}

async function configurationOf(b: Account, id: string): Promise<Config> {
  const c = await b.store.get<Config>(id);
  if (c?.object !== "billing_portal.configuration") throw missing("billing_portal.configuration", id);
  return c;
}

function applyCommon(c: Config, p: Record<string, FormValue>) {
  const profile = obj(p.business_profile);
  for (const key of ["headline", "privacy_policy_url", "terms_of_service_url"] as const)
    if (profile[key] !== undefined) c.business_profile[key] = str(profile[key]) || null;
  if (p.default_return_url !== undefined) c.default_return_url = str(p.default_return_url) || null;
  if (p.name !== undefined) c.name = str(p.name) || null;
  if (p.login_page !== undefined) c.login_page.enabled = bool(obj(p.login_page).enabled) ?? c.login_page.enabled;
  if (p.metadata !== undefined)
    c.metadata = Object.fromEntries(Object.entries(p.metadata === "" ? {} : { ...c.metadata, ...meta(p.metadata) }).filter(([, v]) => v !== ""));
}

export const portalConfigurationRoutes: Route[] = [
  [
    "POST",
    /^\/v1\/billing_portal\/configurations$/,
    { features: featureParams, ...common },
    async (b, p) => {
      if (p.features === undefined) throw invalid("Missing required param: features.", "features");
      requireEnabled(p.features, ENABLED_REQUIRED.create);
      const now = Math.floor(Date.now() / 1000);
      const config: Config = {
        id: newId("bpc"),
        object: "billing_portal.configuration",
        active: true,
        application: null,
        business_profile: { headline: null, privacy_policy_url: null, terms_of_service_url: null },
        created: now,
        default_return_url: null,
        features: applyFeatures(DEFAULT_FEATURES, p.features),
        is_default: false,
        livemode: false,
        login_page: { enabled: false, url: null },
        metadata: {},
        name: null,
        updated: now,
      };
      applyCommon(config, p);
      await b.store.put(config);
      await b.events.emit("billing_portal.configuration.created", config, now);
      return config;
    },
  ],
  [
    "GET",
    /^\/v1\/billing_portal\/configurations$/,
    { ...listParams, active: boolean, is_default: boolean },
    async (b, p) => {
      const active = bool(p.active);
      const isDefault = bool(p.is_default);
      return list<Config>(
        b,
        "billing_portal.configuration",
        p,
        (c) => (active === undefined || c.active === active) && (isDefault === undefined || c.is_default === isDefault),
        "/v1/billing_portal/configurations",
      );
    },
  ],
  ["GET", /^\/v1\/billing_portal\/configurations\/([^/]+)$/, {}, async (b, _p, [id]) => configurationOf(b, id)],
  [
    "POST",
    /^\/v1\/billing_portal\/configurations\/([^/]+)$/,
    { features: featureParams, active: boolean, ...common },
    async (b, p, [id]) => {
      requireEnabled(p.features, ENABLED_REQUIRED.update);
      const config = await configurationOf(b, id);
      const active = bool(p.active);
      if (active === false && config.is_default) throw invalid("You cannot deactivate the default configuration.", "active");
      if (active !== undefined) config.active = active;
      if (p.features !== undefined) config.features = applyFeatures(config.features, p.features);
      applyCommon(config, p);
      config.updated = Math.floor(Date.now() / 1000);
      await b.store.put(config);
      await b.events.emit("billing_portal.configuration.updated", config, config.updated);
      return config;
    },
  ],
];
