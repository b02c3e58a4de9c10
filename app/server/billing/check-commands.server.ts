// How `ops stripe:check` words a fix: the exact API request, as a Stripe CLI command an operator
// can paste (`stripe post /v1/… -d key=value`, the CLI's own key and mode; `--live` for live mode;
// `curl` for the local Stripe), with the form fields Stripe's API takes
// (`features[invoice_history][enabled]=true`, `enabled_events[]=invoice.paid`).

type Value = string | number | boolean | null | undefined | readonly Value[] | { readonly [k: string]: Value };

/** The form fields of a request body, as the SDK encodes them. */
export function formFields(params: { readonly [k: string]: Value }, prefix = ""): [string, string][] {
  const out: [string, string][] = [];
  for (const [key, value] of Object.entries(params)) {
    const name = prefix ? `${prefix}[${key}]` : key;
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        if (item !== null && typeof item === "object") out.push(...formFields(item as { [k: string]: Value }, `${name}[${i}]`));
        else out.push([`${name}[]`, String(item)]);
      });
    } else if (typeof value === "object") {
      out.push(...formFields(value as { [k: string]: Value }, name));
    } else {
      out.push([name, String(value)]);
    }
  }
  return out;
}

const quote = (s: string) => (/^[\w.:/@=,+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);

/** Where the request goes: a real account through the Stripe CLI, or the local Stripe at its URL. */
export type CommandTarget = { mode: "test" | "live" } | { mode: "local"; url: string };

/** `stripe post /v1/prices -d currency=usd …` (`--live` in live mode; `curl` to the local Stripe). */
export function stripeCommand(path: string, params: { readonly [k: string]: Value }, target: CommandTarget): string {
  const fields = formFields(params).map(([k, v]) => `-d ${quote(`${k}=${v}`)}`);
  if (target.mode === "local") return ["curl", `${target.url}${path}`, "-u sk_test_local:", ...fields].join(" ");
  return ["stripe post", path, ...fields, ...(target.mode === "live" ? ["--live"] : [])].join(" ");
}

/** Minor units as an amount people read: 2900 usd → "29.00 USD". */
export const money = (minor: number | null, currency: string) => `${((minor ?? 0) / 100).toFixed(2)} ${currency.toUpperCase()}`;
