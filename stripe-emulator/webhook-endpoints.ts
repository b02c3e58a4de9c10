// Webhook endpoints: where events are delivered, which types each one gets, and the secret it is
// signed with (events.ts delivers). As Stripe: `url` and `enabled_events` are required, each type
// must be one Stripe knows (or `*`), the secret is returned only at creation, a disabled endpoint
// gets nothing, at most 16 endpoints per account. The endpoint `startStripeLocal({ webhook })`
// names is registered at start, as an operator registers the app's endpoint on a real account.
import type Stripe from "stripe";
import { type Account, invalid, missing } from "./account";
import { ENABLED_EVENT_TYPES } from "./event-types";
import { API_VERSION, type StoredEndpoint } from "./events";
import { arr, bool, type FormValue, meta, str } from "./form";
import { array, boolean, listParams, metadata, type Param, paramError, string } from "./params";
import { list, type Route } from "./route";
import { newId, type Store } from "./store";

/** Stripe's limit of webhook endpoints per account. */
export const MAX_ENDPOINTS = 16;

const KNOWN_TYPES: ReadonlySet<string> = new Set(ENABLED_EVENT_TYPES);

/** `enabled_events[i]`: one of Stripe's event types or `*` (the message lists no values: there are hundreds). */
const eventType: Param = (value, name) => {
  string(value, name);
  if (!KNOWN_TYPES.has(value as string))
    throw paramError("parameter_invalid_string", name, `Invalid ${name}: must be one of the event types Stripe sends, or *. Received: ${String(value)}`);
};

/** The endpoint as the API answers it: never its secret. */
export function publicEndpoint(e: StoredEndpoint): Stripe.WebhookEndpoint {
  const { secret: _secret, ...rest } = e;
  return rest;
}

const newSecret = () => `whsec_${newId("x").slice(2)}`;

function checkUrl(value: string | undefined): string {
  if (!value) throw invalid("Missing required param: url.", "url");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`Invalid URL: ${value}. URLs must begin with http:// or https://.`, "url");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw invalid(`Invalid URL: ${value}. URLs must begin with http:// or https://.`, "url");
  return value;
}

function enabledEvents(value: FormValue | undefined): string[] {
  const types = arr(value).map(String);
  if (types.length === 0) throw invalid("Missing required param: enabled_events.", "enabled_events");
  return [...new Set(types)];
}

async function endpointOf(b: Account, id: string): Promise<StoredEndpoint> {
  const e = await b.store.get<StoredEndpoint>(id);
  if (e?.object !== "webhook_endpoint") throw missing("webhook_endpoint", id);
  return e;
}

/** Creates an endpoint (the API's create, and the one registered at start). */
async function createEndpoint(
  store: Store,
  input: { url: string; events: string[]; secret?: string; description?: string | null; apiVersion?: string | null; metadata?: Record<string, string> },
) {
  const endpoint: StoredEndpoint = {
    id: newId("we"),
    object: "webhook_endpoint",
    api_version: input.apiVersion ?? null,
    application: null,
    created: Math.floor(Date.now() / 1000),
    description: input.description ?? null,
    enabled_events: input.events,
    livemode: false,
    metadata: input.metadata ?? {},
    secret: input.secret ?? newSecret(),
    status: "enabled",
    url: input.url,
  };
  await store.put(endpoint);
  return endpoint;
}

/**
 * The endpoint `startStripeLocal({ webhook })` delivers to: the account's endpoint for that URL,
 * made (or brought back to the given secret and types, enabled) at every start.
 */
export async function registerStartEndpoint(store: Store, webhook: { url: string; secret: string; events?: readonly string[] }): Promise<StoredEndpoint> {
  const events = [...(webhook.events ?? ["*"])];
  const unknown = events.filter((t) => !KNOWN_TYPES.has(t));
  if (unknown.length) throw new Error(`the local Stripe's webhook names event types Stripe does not send: ${unknown.join(", ")}`);
  let [endpoint] = await store.list<StoredEndpoint>("webhook_endpoint", (e) => e.url === webhook.url);
  if (endpoint) {
    Object.assign(endpoint, { secret: webhook.secret, enabled_events: events, status: "enabled" });
    await store.put(endpoint);
  } else {
    endpoint = await createEndpoint(store, {
      url: webhook.url,
      events,
      secret: webhook.secret,
      description: "The app (registered by the local Stripe at start)",
    });
  }
  // Deliveries queued by a local Stripe from before endpoints existed went to this URL.
  await store.sql`update deliveries set endpoint_id = ${endpoint.id} where endpoint_id is null`;
  return endpoint;
}

export const webhookEndpointRoutes: Route[] = [
  [
    "POST",
    /^\/v1\/webhook_endpoints$/,
    { url: string, enabled_events: array(eventType), api_version: string, description: string, metadata },
    async (b, p) => {
      const url = checkUrl(str(p.url));
      const events = enabledEvents(p.enabled_events);
      const version = str(p.api_version);
      // Stripe renders each endpoint's events in its version; the local Stripe has one version.
      if (version !== undefined && version !== API_VERSION)
        throw invalid(`The local Stripe renders events only as ${API_VERSION} (the pinned stripe package's version), not ${version}.`, "api_version");
      if ((await b.store.list("webhook_endpoint")).length >= MAX_ENDPOINTS)
        throw invalid(`You have reached the maximum of ${MAX_ENDPOINTS} test webhook endpoints on this account.`, "url");
      const endpoint = await createEndpoint(b.store, { url, events, apiVersion: version, description: str(p.description) || null, metadata: meta(p.metadata) });
      // Only the answer to the creation carries the secret.
      return endpoint;
    },
  ],
  [
    "GET",
    /^\/v1\/webhook_endpoints$/,
    listParams,
    async (b, p) => {
      const page = await list<StoredEndpoint>(b, "webhook_endpoint", p, () => true, "/v1/webhook_endpoints");
      return { ...page, data: page.data.map(publicEndpoint) };
    },
  ],
  ["GET", /^\/v1\/webhook_endpoints\/([^/]+)$/, {}, async (b, _p, [id]) => publicEndpoint(await endpointOf(b, id))],
  [
    "POST",
    /^\/v1\/webhook_endpoints\/([^/]+)$/,
    { url: string, enabled_events: array(eventType), disabled: boolean, description: string, metadata },
    async (b, p, [id]) => {
      const e = await endpointOf(b, id);
      if (p.url !== undefined) e.url = checkUrl(str(p.url));
      if (p.enabled_events !== undefined) e.enabled_events = enabledEvents(p.enabled_events);
      const disabled = bool(p.disabled);
      if (disabled !== undefined) e.status = disabled ? "disabled" : "enabled";
      if (p.description !== undefined) e.description = str(p.description) || null;
      // An empty value unsets a key; an empty `metadata` unsets them all.
      if (p.metadata !== undefined)
        e.metadata = Object.fromEntries(Object.entries(p.metadata === "" ? {} : { ...e.metadata, ...meta(p.metadata) }).filter(([, v]) => v !== ""));
      await b.store.put(e);
      // A disabled endpoint is sent nothing more, including the retries it had pending.
      if (e.status === "disabled") await b.store.sql`delete from deliveries where endpoint_id = ${e.id} and delivered_at is null`;
      return publicEndpoint(e);
    },
  ],
  [
    "DELETE",
    /^\/v1\/webhook_endpoints\/([^/]+)$/,
    {},
    async (b, _p, [id]) => {
      const e = await endpointOf(b, id);
      await b.store.sql`delete from objects where id = ${e.id}`;
      await b.store.sql`delete from deliveries where endpoint_id = ${e.id} and delivered_at is null`;
      return { id: e.id, object: "webhook_endpoint", deleted: true } satisfies Stripe.DeletedWebhookEndpoint;
    },
  ],
];
