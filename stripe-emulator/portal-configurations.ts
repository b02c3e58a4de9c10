// The customer portal's configurations (/v1/billing_portal/configurations) and its sessions
// (/v1/billing_portal/sessions). A session uses the configuration it names, else the account's
// default one, which Stripe has only once someone saved the portal settings in the Dashboard
// (here: `saveDefaultPortalConfiguration`); with neither, Stripe refuses the session. The hosted
// page (pages.ts, portal.ts) offers what the session's configuration allows and nothing more.
//
// Accepted: the features the hosted page honours (cards, invoices, cancel, price switches), the
// business profile, the default return URL, name, metadata and `active`. The rest of Stripe's
// parameters (customer updates, pauses, the login page, cancellation reasons, quantity limits,
// trial and period-end rules) are not emulated and refused as unknown; the object still carries
// them, disabled, as Stripe returns them.
import type Stripe from "stripe";
import { type Account, invalid, missing } from "./account";
import { customerOf } from "./customers";
import { arr, bool, type FormValue, obj, str } from "./form";
import {
  type Accepts,
  array,
  boolean,
  checkParams,
  expandable,
  listParams,
  metadata,
  object,
  oneOf,
  type Param,
  ParamRefused,
  paramError,
  string,
} from "./params";
import { list, type Params, type Route } from "./route";
import { newId } from "./store";

type Configuration = Stripe.BillingPortal.Configuration;
type Features = Stripe.BillingPortal.Configuration.Features;
type Cancel = Features["subscription_cancel"];
type Update = Features["subscription_update"];
type Product = Stripe.BillingPortal.Configuration.Features.SubscriptionUpdate.Product;

/** A value Stripe also takes as "" (to clear it). */
const emptyable =
  (param: Param): Param =>
  (value, name) => {
    if (value !== "") param(value, name);
  };

/** An object of `shape` that must carry `keys` (Stripe: "Missing required param"). */
const requiring =
  (shape: Accepts, ...keys: string[]): Param =>
  (value, name) => {
    object(shape)(value, name);
    for (const key of keys)
      if (obj(value)[key] === undefined) throw paramError("parameter_missing", `${name}[${key}]`, `Missing required param: ${name}[${key}].`);
  };

const maxLength =
  (n: number): Param =>
  (value, name) => {
    string(value, name);
    if ((value as string).length > n) throw paramError("parameter_invalid_string", name, `Invalid string: ${value}; must be at most ${n} characters`);
  };

/** Stripe documents `always_invoice` as refused for cancellations; `create_prorations` (immediate cancels only) is not emulated. */
const cancelProration: Param = (value, name) => {
  oneOf("always_invoice", "create_prorations", "none")(value, name);
  if (value === "always_invoice")
    throw paramError("parameter_invalid_string", name, `Invalid ${name}: always_invoice is not supported for cancellations; use none or create_prorations`);
  if (value === "create_prorations")
    throw new ParamRefused(400, "invalid_request_error", `The local Stripe does not emulate prorated portal cancellations (${name}=create_prorations).`, {
      param: name,
    });
};

/** `features` as create (`creating`) or update takes it: create requires each feature's `enabled`. */
function featuresParam(creating: boolean): Param {
  const enabled = creating ? ["enabled"] : [];
  return object({
    invoice_history: requiring({ enabled: boolean }, "enabled"),
    payment_method_update: requiring({ enabled: boolean }, "enabled"),
    subscription_cancel: requiring({ enabled: boolean, mode: oneOf("at_period_end", "immediately"), proration_behavior: cancelProration }, ...enabled),
    subscription_update: requiring(
      {
        enabled: boolean,
        default_allowed_updates: emptyable(array(oneOf("price", "promotion_code", "quantity"))),
        products: emptyable(array(requiring({ prices: array(string), product: string }, "prices", "product"))),
        proration_behavior: oneOf("always_invoice", "create_prorations", "none"),
      },
      ...enabled,
    ),
  });
}

const businessProfile: Param = object({ headline: emptyable(maxLength(60)), privacy_policy_url: emptyable(string), terms_of_service_url: emptyable(string) });
const common: Accepts = { business_profile: businessProfile, default_return_url: emptyable(string), metadata, name: emptyable(string) };

/** What a configuration has before anything is enabled (Stripe's defaults). */
const DISABLED: Features = {
  customer_update: { allowed_updates: [], enabled: false },
  invoice_history: { enabled: false },
  payment_method_update: { enabled: false, payment_method_configuration: null },
  subscription_cancel: {
    cancellation_reason: { enabled: false, feedback_options: null, options: ["too_expensive", "missing_features", "switched_service", "unused", "other"] },
    enabled: false,
    mode: "at_period_end",
    proration_behavior: "none",
  },
  subscription_pause: { duration: { interval_options: [{ interval: "month", interval_count: 1 }], type: "interval_options" }, enabled: false },
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

const flag = (v: FormValue | undefined, was: boolean) => bool(v) ?? was;
const words = <T extends string>(v: FormValue | undefined, was: T[]): T[] => (v === undefined ? was : (arr(v) as T[]));
const text = (v: FormValue | undefined, was: string | null) => (v === undefined ? was : v === "" ? null : (str(v) ?? was));

/** `f` with what the request sets; everything it does not name stays as it was. */
async function withFeatures(b: Account, f: Features, p: Record<string, FormValue>): Promise<Features> {
  const [ih, pm, sc, su] = [obj(p.invoice_history), obj(p.payment_method_update), obj(p.subscription_cancel), obj(p.subscription_update)];
  const products = su.products === undefined ? f.subscription_update.products : await productsOf(b, arr(su.products));
  return {
    ...f,
    invoice_history: { enabled: flag(ih.enabled, f.invoice_history.enabled) },
    payment_method_update: { ...f.payment_method_update, enabled: flag(pm.enabled, f.payment_method_update.enabled) },
    subscription_cancel: {
      ...f.subscription_cancel,
      enabled: flag(sc.enabled, f.subscription_cancel.enabled),
      mode: (str(sc.mode) ?? f.subscription_cancel.mode) as Cancel["mode"],
      proration_behavior: (str(sc.proration_behavior) ?? f.subscription_cancel.proration_behavior) as Cancel["proration_behavior"],
    },
    subscription_update: {
      ...f.subscription_update,
      enabled: flag(su.enabled, f.subscription_update.enabled),
      default_allowed_updates: words(su.default_allowed_updates, f.subscription_update.default_allowed_updates),
      products,
      proration_behavior: (str(su.proration_behavior) ?? f.subscription_update.proration_behavior) as Update["proration_behavior"],
    },
  };
}

/** Stripe takes up to 10 products, each with prices of that product that exist. */
async function productsOf(b: Account, given: FormValue[]): Promise<Product[]> {
  if (given.length > 10)
    throw invalid("You can specify at most 10 products in features[subscription_update][products].", "features[subscription_update][products]");
  const products: Product[] = [];
  for (const [i, item] of given.map(obj).entries()) {
    const product = str(item.product)!;
    const prices = arr(item.prices).map(String);
    if (!(await b.store.get(product))) throw missing("product", product, `features[subscription_update][products][${i}][product]`);
    for (const id of prices) {
      const price = await b.store.get<Stripe.Price>(id);
      if (!price) throw missing("price", id, `features[subscription_update][products][${i}][prices]`);
      if (price.product !== product)
        throw invalid(`The price ${id} does not belong to the product ${product}.`, `features[subscription_update][products][${i}][prices]`);
    }
    products.push({ adjustable_quantity: { enabled: false, maximum: null, minimum: 1 }, prices, product });
  }
  return products;
}

/** The configuration with the request's business profile, return URL, name and metadata applied. */
function withCommon(c: Configuration, p: Params): Configuration {
  const bp = obj(p.business_profile);
  const next = {
    ...c,
    business_profile: {
      headline: text(bp.headline, c.business_profile.headline),
      privacy_policy_url: text(bp.privacy_policy_url, c.business_profile.privacy_policy_url),
      terms_of_service_url: text(bp.terms_of_service_url, c.business_profile.terms_of_service_url),
    },
    default_return_url: text(p.default_return_url, c.default_return_url),
    name: text(p.name, c.name),
  };
  // Metadata merges key by key; a key sent empty is removed, and `metadata=""` clears all.
  if (p.metadata === "") next.metadata = {};
  else if (p.metadata !== undefined) {
    const merged: Record<string, string> = { ...c.metadata };
    for (const [k, v] of Object.entries(obj(p.metadata))) {
      if (v === "") delete merged[k];
      else merged[k] = String(v);
    }
    next.metadata = merged;
  }
  return next;
}

async function createConfiguration(b: Account, p: Params, isDefault = false): Promise<Configuration> {
  if (p.features === undefined) throw paramError("parameter_missing", "features", "Missing required param: features.");
  const now = Math.floor(Date.now() / 1000);
  const blank: Configuration = {
    id: newId("bpc"),
    object: "billing_portal.configuration",
    active: true,
    application: null,
    business_profile: { headline: null, privacy_policy_url: null, terms_of_service_url: null },
    created: now,
    default_return_url: null,
    features: await withFeatures(b, DISABLED, obj(p.features)),
    is_default: isDefault,
    livemode: false,
    login_page: { enabled: false, url: null },
    metadata: {},
    name: null,
    updated: now,
  };
  const c = withCommon(blank, p);
  await b.store.put(c);
  await b.events.emit("billing_portal.configuration.created", c, now);
  return c;
}

async function configuration(b: Account, id: string, param = "id"): Promise<Configuration> {
  const c = await b.store.get<Configuration>(id);
  if (c?.object !== "billing_portal.configuration") throw missing("configuration", id, param);
  return c;
}

async function updateConfiguration(b: Account, id: string, p: Params): Promise<Configuration> {
  const c = await configuration(b, id);
  const features = p.features === undefined ? c.features : await withFeatures(b, c.features, obj(p.features));
  const next = { ...withCommon(c, p), features, active: bool(p.active) ?? c.active, updated: Math.floor(Date.now() / 1000) };
  await b.store.put(next);
  await b.events.emit("billing_portal.configuration.updated", next, next.updated);
  return next;
}

/** A value as the SDK puts it on the wire: booleans and numbers as text. */
const onTheWire = (v: unknown): FormValue =>
  Array.isArray(v) ? v.map(onTheWire) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, onTheWire(x)])) : String(v);

/**
 * Saves the portal settings as the Dashboard does: the account's default configuration, made on the
 * first save and changed on later ones, checked like the create parameters' `features`.
 */
export async function saveDefaultConfiguration(b: Account, features: Stripe.BillingPortal.ConfigurationCreateParams.Features): Promise<Configuration> {
  const params = { features: onTheWire(features) };
  checkParams({ features: featuresParam(true) }, params);
  const [current] = await b.store.list<Configuration>("billing_portal.configuration", (c) => c.is_default);
  return current ? updateConfiguration(b, current.id, params) : createConfiguration(b, params, true);
}

/** The customer's subscription the portal manages: its newest one not ended. */
export async function currentSubscription(b: Account, customerId: string): Promise<Stripe.Subscription | undefined> {
  const [sub] = await b.store.list<Stripe.Subscription>(
    "subscription",
    (x) => x.customer === customerId && !["canceled", "incomplete_expired"].includes(x.status),
  );
  return sub;
}

/** The prices the portal may switch `current` to: the configuration's, when it allows price updates. */
export function switchablePrices(features: Features, current: string): string[] {
  const update = features.subscription_update;
  if (!update.enabled || !update.default_allowed_updates.includes("price")) return [];
  return (update.products ?? []).flatMap((p) => p.prices).filter((id) => id !== current);
}

/** The configuration a session uses: the one it names (Stripe stores its id on the session). */
export const configurationOf = (b: Account, session: Stripe.BillingPortal.Session) => configuration(b, session.configuration as string);

/** The configuration for a new session: the one named (existing and active), else the default. */
async function sessionConfiguration(b: Account, named: string | undefined): Promise<Configuration> {
  if (named) {
    const c = await configuration(b, named, "configuration");
    if (!c.active) throw invalid(`The configuration ${named} is not active; activate it or use another configuration.`, "configuration");
    return c;
  }
  const [fallback] = await b.store.list<Configuration>("billing_portal.configuration", (c) => c.is_default && c.active);
  if (!fallback)
    throw invalid(
      "You can’t create a portal session in test mode until you save your customer portal settings in test mode at https://dashboard.stripe.com/test/settings/billing/portal.",
    );
  return fallback;
}

export const portalRoutes: Route[] = [
  ["POST", /^\/v1\/billing_portal\/configurations$/, { features: featuresParam(true), ...common }, async (b, p) => createConfiguration(b, p)],
  [
    "GET",
    /^\/v1\/billing_portal\/configurations$/,
    { ...listParams, active: boolean, is_default: boolean },
    async (b, p) =>
      list<Configuration>(
        b,
        "billing_portal.configuration",
        p,
        (c) => (bool(p.active) === undefined || c.active === bool(p.active)) && (bool(p.is_default) === undefined || c.is_default === bool(p.is_default)),
        "/v1/billing_portal/configurations",
      ),
  ],
  ["GET", /^\/v1\/billing_portal\/configurations\/([^/]+)$/, {}, async (b, _p, [id]) => configuration(b, id)],
  [
    "POST",
    /^\/v1\/billing_portal\/configurations\/([^/]+)$/,
    { active: boolean, features: featuresParam(false), ...common },
    async (b, p, [id]) => updateConfiguration(b, id, p),
  ],
  [
    "POST",
    /^\/v1\/billing_portal\/sessions$/,
    { customer: string, configuration: string, return_url: string, expand: expandable("configuration") },
    async (b, p) => {
      const c = await customerOf(b, str(p.customer) ?? "", "customer");
      const config = await sessionConfiguration(b, str(p.configuration));
      const id = newId("bps");
      const session: Stripe.BillingPortal.Session = {
        customer_account: null,
        id,
        object: "billing_portal.session",
        configuration: config.id,
        created: await b.nowFor(c.id),
        customer: c.id,
        flow: null,
        livemode: false,
        locale: null,
        on_behalf_of: null,
        return_url: str(p.return_url) ?? config.default_return_url,
        url: `${b.publicUrl}/portal/${id}`,
      };
      await b.store.put(session);
      return session;
    },
  ],
];
