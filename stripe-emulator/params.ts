// The parameters each /v1 route accepts, checked before its handler runs: an unknown parameter, a
// value of the wrong type, an enum value Stripe does not know, a `limit` over 100 or an `expand`
// path the object cannot expand is refused with Stripe's error object, as Stripe refuses it.
import { StripeError } from "./account";
import type { FormValue } from "./form";

/**
 * Checks one parameter's value; `name` is its form name (`items[0][price]`) for the error. An
 * object's `shape` and an array's `item` stay readable, so a test can hold what a route accepts
 * to Stripe's published API description.
 */
export type Param = ((value: FormValue, name: string) => void) & { shape?: Accepts; item?: Param };
export type Accepts = Record<string, Param>;

/** A request refused before its handler ran: Stripe saves no idempotent result for it. */
export class ParamRefused extends StripeError {}

/** Stripe's error object for a refused parameter: `code`, `param`, `doc_url`. */
export const paramError = (code: string, param: string, message: string, status = 400) =>
  new ParamRefused(status, "invalid_request_error", message, { code, param, doc_url: `https://stripe.com/docs/error-codes/${code.replaceAll("_", "-")}` });

const notString = (name: string) => paramError("parameter_invalid_string", name, `Invalid ${name}: must be a string`);

export const string: Param = (value, name) => {
  if (typeof value !== "string") throw notString(name);
};

const INTEGER = /^-?\d+$/;
export const integer =
  (range: { min?: number; max?: number } = {}): Param =>
  (value, name) => {
    if (typeof value !== "string" || !INTEGER.test(value)) throw paramError("parameter_invalid_integer", name, `Invalid integer: ${String(value)}`);
    const n = Number(value);
    if (range.max !== undefined && n > range.max) throw paramError("parameter_invalid_integer", name, `Invalid ${name}: must be at most ${range.max}`);
    if (range.min !== undefined && n < range.min) throw paramError("parameter_invalid_integer", name, `Invalid ${name}: must be at least ${range.min}`);
  };

/** A timestamp, or one of the words Stripe takes in its place (`now`). */
export const timestamp =
  (...words: string[]): Param =>
  (value, name) => {
    if (typeof value === "string" && words.includes(value)) return;
    integer({ min: 0 })(value, name);
  };

export const boolean: Param = (value, name) => {
  if (value !== "true" && value !== "false") throw paramError("parameter_invalid_boolean", name, `Invalid boolean: ${String(value)}`);
};

export const oneOf =
  (...values: string[]): Param =>
  (value, name) => {
    if (typeof value !== "string") throw notString(name);
    if (!values.includes(value)) {
      const choices = values.length > 1 ? `${values.slice(0, -1).join(", ")}, or ${values.at(-1)}` : values[0];
      throw paramError("parameter_invalid_string", name, `Invalid ${name}: must be one of ${choices}`);
    }
  };

/** A refusal Stripe answers with a message and the param, without an error code. */
const refused = (param: string, message: string) => new ParamRefused(400, "invalid_request_error", message, { param });

/** `metadata[key]=value` (an empty value unsets the key): Stripe's limits are 50 keys, keys of 40 characters, values of 500. */
export const metadata: Param = (value, name) => {
  if (value === "") return;
  if (!value || typeof value !== "object" || Array.isArray(value)) throw paramError("parameter_invalid_string", name, `Invalid object: ${name}`);
  const entries = Object.entries(value);
  if (entries.length > 50) throw refused(name, `Invalid ${name}: metadata can have up to 50 keys, but you passed in ${entries.length} keys.`);
  for (const [k, v] of entries) {
    if (typeof v !== "string") throw notString(`${name}[${k}]`);
    if (k.length > 40)
      throw refused(`${name}[${k}]`, `Metadata keys can have up to 40 characters, but you passed in a key that is ${k.length} characters long: ${k}`);
    if (v.length > 500)
      throw refused(`${name}[${k}]`, `Metadata values can have up to 500 characters, but you passed in a value that is ${v.length} characters long.`);
  }
};

/** An email address, as Stripe checks a customer's: `email_invalid` otherwise. */
export const email: Param = (value, name) => {
  string(value, name);
  if (value !== "" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value as string)) throw paramError("email_invalid", name, `Invalid email address: ${value}`);
};

/** The ISO 4217 codes Stripe charges in (its presentment currencies), lowercase as its API takes them. */
const CURRENCIES = new Set(
  (
    "usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd cad cdf chf clp cny cop crc cve czk " +
    "djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd " +
    "kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar " +
    "ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf " +
    "yer zar zmw"
  ).split(" "),
);

export const currency: Param = (value, name) => {
  string(value, name);
  if (!CURRENCIES.has(value as string))
    throw refused(name, `Invalid currency: ${value}. Stripe currently supports these currencies: ${[...CURRENCIES].join(", ")}`);
};

/** An amount in the currency's minor unit: Stripe takes at most 8 digits. */
export const amount: Param = (value, name) => {
  integer({ min: 0 })(value, name);
  if (Number(value) > 99_999_999) throw paramError("parameter_invalid_integer", name, "This value must be less than or equal to 99999999.");
};

export const object = (shape: Accepts): Param =>
  Object.assign(
    (value: FormValue, name: string) => {
      if (!value || typeof value !== "object" || Array.isArray(value)) throw paramError("parameter_invalid_string", name, `Invalid object: ${name}`);
      check(shape, value, name);
    },
    { shape },
  );

/** An array (`a[0][b]=…` or `a[]=…`) of items each checked by `item`. */
export const array = (item: Param): Param =>
  Object.assign(
    (value: FormValue, name: string) => {
      if (!value || typeof value !== "object") throw paramError("parameter_invalid_string", name, `Invalid array: ${name}`);
      for (const [i, v] of Object.entries(value)) if (v !== undefined) item(v, `${name}[${i}]`);
    },
    { item },
  );

/** The `expand[]` a route takes: only these paths (a list route's paths start with `data.`). */
export const expandable =
  (...paths: string[]): Param =>
  (value, name) => {
    array(string)(value, name);
    for (const [i, path] of Object.entries(value as FormValue[])) {
      if (!paths.includes(path as string))
        throw new ParamRefused(400, "invalid_request_error", `This property cannot be expanded (${path}).`, { param: `${name}[${i}]` });
    }
  };

/** Stripe's list parameters. */
export const listParams: Accepts = { limit: integer({ min: 1, max: 100 }), starting_after: string, ending_before: string };

/**
 * Stripe refuses a NUL character in any string, key or value (the local Stripe keeps its
 * objects as Postgres JSON, which cannot hold one either).
 */
function refuseNul(value: FormValue, name: string) {
  if (typeof value === "string") {
    if (value.includes("\0")) throw refused(name, `Invalid string: ${name} must not contain the null character (\\u0000).`);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const at = `${name}[${k}]`;
    if (k.includes("\0")) throw refused(at, `Invalid parameter name: ${JSON.stringify(at)} must not contain the null character (\\u0000).`);
    if (v !== undefined) refuseNul(v, at);
  }
}

function check(shape: Accepts, params: Record<string, FormValue>, prefix?: string) {
  for (const [key, value] of Object.entries(params)) {
    const name = prefix ? `${prefix}[${key}]` : key;
    const accept = shape[key];
    if (!accept) throw paramError("parameter_unknown", name, `Received unknown parameter: ${name}`);
    accept(value, name);
  }
}

/** Refuses the request unless every parameter is one `accepts` names, with a value it takes. */
export function checkParams(accepts: Accepts, params: Record<string, FormValue>) {
  for (const [key, value] of Object.entries(params)) refuseNul(value, key);
  check({ expand: expandable(), ...accepts }, params);
}
