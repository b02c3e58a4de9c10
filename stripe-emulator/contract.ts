// The contract between the app, the local Stripe and Stripe's published API description: each
// operation the local Stripe serves, the request parameters Stripe allows for it and the answer
// it gives. Two descriptions can back it: the `stripe` package's types (generated from Stripe's
// OpenAPI document of the pinned API version; schemas/params.json and schemas/stripe.json), and
// Stripe's OpenAPI document itself (a subset of it: openapi.ts). Tests only.
import Ajv, { type ValidateFunction } from "ajv";
import type { Exchange } from "./index";
import type { Accepts, Param } from "./params";
import type { Route } from "./route";
import params from "./schemas/params.json";
import objects from "./schemas/stripe.json";

type Json = Record<string, any>;
/** An operation: its method, its path as Stripe's OpenAPI document writes it, the SDK's names for its parameters and its answer. */
export type Operation = { method: string; path: string; params: string; response: string };

const op = (method: string, path: string, params: string, response: string): Operation => ({ method, path, params, response });

/** Every operation the local Stripe serves (stripe-emulator/api.ts routes them). */
export const OPERATIONS: Operation[] = [
  op("POST", "/v1/customers", "CustomerCreate", "Customer"),
  op("GET", "/v1/customers/{customer}", "CustomerRetrieve", "Customer"),
  op("POST", "/v1/customers/{customer}", "CustomerUpdate", "Customer"),
  op("POST", "/v1/payment_methods/{payment_method}/attach", "PaymentMethodAttach", "PaymentMethod"),
  op("GET", "/v1/payment_methods/{payment_method}", "PaymentMethodRetrieve", "PaymentMethod"),
  op("POST", "/v1/products", "ProductCreate", "Product"),
  op("GET", "/v1/products/{id}", "ProductRetrieve", "Product"),
  op("POST", "/v1/prices", "PriceCreate", "Price"),
  op("GET", "/v1/prices", "PriceList", "PriceList"),
  op("GET", "/v1/prices/{price}", "PriceRetrieve", "Price"),
  op("POST", "/v1/prices/{price}", "PriceUpdate", "Price"),
  op("POST", "/v1/webhook_endpoints", "WebhookEndpointCreate", "WebhookEndpoint"),
  op("GET", "/v1/webhook_endpoints", "WebhookEndpointList", "WebhookEndpointList"),
  op("GET", "/v1/webhook_endpoints/{webhook_endpoint}", "WebhookEndpointRetrieve", "WebhookEndpoint"),
  op("POST", "/v1/webhook_endpoints/{webhook_endpoint}", "WebhookEndpointUpdate", "WebhookEndpoint"),
  op("DELETE", "/v1/webhook_endpoints/{webhook_endpoint}", "WebhookEndpointDelete", "DeletedWebhookEndpoint"),
  op("POST", "/v1/test_helpers/test_clocks", "TestClockCreate", "TestClock"),
  op("GET", "/v1/test_helpers/test_clocks/{test_clock}", "TestClockRetrieve", "TestClock"),
  op("POST", "/v1/test_helpers/test_clocks/{test_clock}/advance", "TestClockAdvance", "TestClock"),
  op("DELETE", "/v1/test_helpers/test_clocks/{test_clock}", "TestClockDelete", "DeletedTestClock"),
  op("POST", "/v1/subscriptions", "SubscriptionCreate", "Subscription"),
  op("GET", "/v1/subscriptions", "SubscriptionList", "SubscriptionList"),
  op("GET", "/v1/subscriptions/{subscription_exposed_id}", "SubscriptionRetrieve", "Subscription"),
  op("POST", "/v1/subscriptions/{subscription_exposed_id}", "SubscriptionUpdate", "Subscription"),
  op("DELETE", "/v1/subscriptions/{subscription_exposed_id}", "SubscriptionCancel", "Subscription"),
  op("POST", "/v1/subscription_schedules", "SubscriptionScheduleCreate", "SubscriptionSchedule"),
  op("GET", "/v1/subscription_schedules", "SubscriptionScheduleList", "SubscriptionScheduleList"),
  op("GET", "/v1/subscription_schedules/{schedule}", "SubscriptionScheduleRetrieve", "SubscriptionSchedule"),
  op("POST", "/v1/subscription_schedules/{schedule}", "SubscriptionScheduleUpdate", "SubscriptionSchedule"),
  op("POST", "/v1/subscription_schedules/{schedule}/release", "SubscriptionScheduleRelease", "SubscriptionSchedule"),
  op("POST", "/v1/subscription_schedules/{schedule}/cancel", "SubscriptionScheduleCancel", "SubscriptionSchedule"),
  op("GET", "/v1/invoices", "InvoiceList", "InvoiceList"),
  op("POST", "/v1/invoices/create_preview", "InvoiceCreatePreview", "Invoice"),
  op("GET", "/v1/invoices/{invoice}", "InvoiceRetrieve", "Invoice"),
  op("POST", "/v1/invoices", "InvoiceCreate", "Invoice"),
  op("POST", "/v1/invoices/{invoice}/finalize", "InvoiceFinalize", "Invoice"),
  op("POST", "/v1/invoices/{invoice}/pay", "InvoicePay", "Invoice"),
  op("POST", "/v1/invoices/{invoice}/void", "InvoiceVoid", "Invoice"),
  op("POST", "/v1/invoiceitems", "InvoiceItemCreate", "InvoiceItem"),
  op("GET", "/v1/events", "EventList", "EventList"),
  op("GET", "/v1/events/{id}", "EventRetrieve", "Event"),
  op("POST", "/v1/checkout/sessions", "CheckoutSessionCreate", "CheckoutSession"),
  op("GET", "/v1/checkout/sessions", "CheckoutSessionList", "CheckoutSessionList"),
  op("GET", "/v1/checkout/sessions/{session}", "CheckoutSessionRetrieve", "CheckoutSession"),
  op("POST", "/v1/checkout/sessions/{session}/expire", "CheckoutSessionExpire", "CheckoutSession"),
  op("POST", "/v1/billing_portal/sessions", "BillingPortalSessionCreate", "BillingPortalSession"),
  op("POST", "/v1/billing_portal/configurations", "BillingPortalConfigurationCreate", "BillingPortalConfiguration"),
  op("GET", "/v1/billing_portal/configurations", "BillingPortalConfigurationList", "BillingPortalConfigurationList"),
  op("GET", "/v1/billing_portal/configurations/{configuration}", "BillingPortalConfigurationRetrieve", "BillingPortalConfiguration"),
  op("POST", "/v1/billing_portal/configurations/{configuration}", "BillingPortalConfigurationUpdate", "BillingPortalConfiguration"),
  op("POST", "/v1/billing/meters", "MeterCreate", "Meter"),
  op("GET", "/v1/billing/meters", "MeterList", "MeterList"),
  op("GET", "/v1/billing/meters/{id}/event_summaries", "MeterListEventSummaries", "MeterEventSummaryList"),
  op("POST", "/v1/billing/meter_events", "MeterEventCreate", "MeterEvent"),
];

const pattern = (path: string) => new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}$`);
const patterns = new Map(OPERATIONS.map((o) => [o, pattern(o.path)]));

/** The operation a request is for; a literal path (`/v1/invoices/create_preview`) wins over a template. */
export function operationOf(method: string, path: string): Operation | undefined {
  const matches = OPERATIONS.filter((o) => o.method === method && patterns.get(o)!.test(path));
  return matches.find((o) => !o.path.includes("{")) ?? matches[0];
}

/**
 * A request schema as a form body decodes: every scalar is a string (`unit_amount=100`,
 * `active=true`, `null` sent as an empty value), arrays and objects keep their shape.
 */
export function formSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(formSchema);
  if (!node || typeof node !== "object") return node;
  const s = node as Json;
  if (s.type === "number") return { type: "string", pattern: "^-?\\d+(\\.\\d+)?$" };
  if (s.type === "integer") return { type: "string", pattern: "^-?\\d+$" };
  if (s.type === "boolean") return { enum: ["true", "false"] };
  if (s.type === "null") return { const: "" };
  if ("const" in s && typeof s.const !== "string") return { const: String(s.const) };
  if (Array.isArray(s.enum)) return { ...s, enum: s.enum.map((v: unknown) => (v === null ? "" : String(v))) };
  if (Array.isArray(s.type)) return { anyOf: s.type.map((type: string) => formSchema({ ...s, type })) };
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === "properties" ? mapValues(v as Json, formSchema) : formSchema(v)]));
}

const mapValues = (o: Json, f: (v: unknown) => unknown) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

/** What a description says of one operation: a validator of its form-decoded parameters, one of its answer (each compiled when first asked for), and the schemas of a parameter. */
export type Described = { request: () => ValidateFunction; response: () => ValidateFunction; paramSchema: (path: string[]) => Json[] | null };
export type Description = {
  name: string;
  describe(op: Operation): Described | null;
  checkRequest?: (op: Operation, params: Json, answer: unknown) => string[];
};

/** Resolves `#/definitions/…` or `#/components/schemas/…` refs and walks into `properties` / `items` along a parameter path. */
export function schemasAt(doc: Json, roots: Json[], path: string[]): Json[] | null {
  const deref = (s: Json): Json[] => {
    if (s.$ref) {
      const target = (s.$ref as string)
        .replace(/^#\//, "")
        .split("/")
        .map((p) => decodeURIComponent(p))
        .reduce((n: Json | undefined, k) => n?.[k], doc);
      return target ? deref(target) : [];
    }
    const branches = [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])] as Json[];
    return branches.length ? branches.flatMap(deref) : [s];
  };
  let here = roots.flatMap(deref);
  for (const key of path) {
    const next: Json[] = [];
    for (const s of here) {
      if (key === "[]") {
        if (s.items) next.push(...deref(s.items));
      } else if (s.properties?.[key]) next.push(...deref(s.properties[key]));
      else if (s.additionalProperties && typeof s.additionalProperties === "object") next.push(...deref(s.additionalProperties));
    }
    if (next.length === 0) return null;
    here = next;
  }
  return here;
}

/** The description made of the `stripe` package's types. */
export function sdkDescription(): Description {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema(formSchema(params) as Json, "params");
  ajv.addSchema(objects, "objects");
  return {
    name: "the stripe package's types",
    describe: (o) => ({
      request: () => ajv.getSchema(`params#/roots/${o.params}`)!,
      response: () => ajv.getSchema(`objects#/roots/${o.response}`)!,
      paramSchema: (path) => schemasAt(params, [(params.roots as Json)[o.params]], path),
    }),
  };
}

const ERROR_TYPES = ["api_error", "card_error", "idempotency_error", "invalid_request_error", "rate_limit_error", "authentication_error", "permission_error"];
const errorSchema = new Ajv({ strict: false }).compile({
  type: "object",
  required: ["error"],
  additionalProperties: false,
  properties: { error: { type: "object", required: ["type", "message"], properties: { type: { enum: ERROR_TYPES }, message: { type: "string" } } } },
});

const describeErrors = (v: ValidateFunction) => (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`).slice(0, 10);

/** Every way the recorded exchanges break the description: an unknown operation, a parameter it does not allow, an answer of another shape. */
export function contractViolations(description: Description, exchanges: Exchange[]): string[] {
  const found: string[] = [];
  for (const x of exchanges) {
    const o = operationOf(x.method, x.path);
    const where = `${x.method} ${x.path}`;
    if (!o) {
      found.push(`${where}: no such operation in the contract`);
      continue;
    }
    const d = description.describe(o);
    if (!d) {
      found.push(`${where}: ${description.name} has no ${o.method} ${o.path}`);
      continue;
    }
    const request = d.request();
    if (!request(x.params)) found.push(...describeErrors(request).map((e) => `${where} request ${e}`));
    found.push(...(description.checkRequest?.(o, x.params, x.body) ?? []).map((e) => `${where} request ${e}`));
    const answer = x.status < 300 ? d.response() : errorSchema;
    if (!answer(x.body)) found.push(...describeErrors(answer).map((e) => `${where} answer ${x.status} ${e}`));
  }
  return [...new Set(found)];
}

/** The parameter paths a route accepts (`phases.[].items.[].price`), read from its params.ts helpers. */
export function acceptedPaths(accepts: Accepts, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  const walk = (param: Param, path: string[]) => {
    out.push(path);
    if (param.shape) for (const [k, p] of Object.entries(param.shape)) walk(p, [...path, k]);
    if (param.item) walk(param.item, [...path, "[]"]);
  };
  for (const [k, p] of Object.entries(accepts)) walk(p, [...prefix, k]);
  return out;
}

/** Every parameter a route accepts that the description does not name for its operation. */
export function acceptedButUndescribed(description: Description, routes: Route[]): string[] {
  const found: string[] = [];
  const served = new Set<Route>();
  for (const o of OPERATIONS) {
    // The route the local Stripe dispatches a request of this operation to (the first that matches).
    const sample = o.path.replace(/\{[^}]+\}/g, "id_sample");
    const route = routes.find(([m, re]) => m === o.method && re.test(sample));
    if (!route) {
      found.push(`${o.method} ${o.path}: no route of the local Stripe serves it`);
      continue;
    }
    served.add(route);
    const d = description.describe(o);
    if (!d) continue;
    for (const path of acceptedPaths(route[2])) if (!d.paramSchema(path)) found.push(`${o.method} ${o.path}: ${path.join(".")}`);
  }
  for (const [m, re] of routes)
    if (![...served].some(([sm, sre]) => sm === m && sre === re)) found.push(`${m} ${re.source}: a route no operation of the contract names`);
  return found;
}
