// Parses Stripe-style form bodies and query strings (`a[b][0][c]=v`, `expand[]=x`) into objects,
// as the stripe SDK encodes them.
export type FormValue = string | FormValue[] | { [k: string]: FormValue };

export function parseForm(text: string): Record<string, FormValue> {
  const root: Record<string, FormValue> = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const path = rawKey.replace(/\]/g, "").split("[");
    let node: any = root;
    for (let i = 0; i < path.length; i++) {
      const key = path[i];
      const last = i === path.length - 1;
      const nextIsIndex = !last && /^\d*$/.test(path[i + 1]);
      if (Array.isArray(node)) {
        const idx = key === "" ? node.length : Number(key);
        if (last) node[idx] = value;
        else node = node[idx] ??= nextIsIndex ? [] : {};
      } else if (last) {
        node[key] = value;
      } else {
        node = node[key] ??= nextIsIndex ? [] : {};
      }
    }
  }
  return root;
}

export const str = (v: FormValue | undefined): string | undefined => (typeof v === "string" ? v : undefined);
export const int = (v: FormValue | undefined): number | undefined => (typeof v === "string" && v !== "" ? Number.parseInt(v, 10) : undefined);
export const bool = (v: FormValue | undefined): boolean | undefined => (v === "true" ? true : v === "false" ? false : undefined);
export const obj = (v: FormValue | undefined): Record<string, FormValue> => (v && typeof v === "object" && !Array.isArray(v) ? v : {});
export const arr = (v: FormValue | undefined): FormValue[] =>
  Array.isArray(v) ? v.filter((x) => x !== undefined) : v && typeof v === "object" ? Object.values(v) : [];
export const meta = (v: FormValue | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(obj(v)).filter(([, x]) => typeof x === "string")) as Record<string, string>;

/**
 * The parameters as one text, object keys sorted (array order kept): equal for the same
 * parameters however the form was written, as Stripe compares an idempotent request's.
 */
export function canonicalParams(value: FormValue | undefined): string {
  if (value === undefined || typeof value === "string") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalParams).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalParams(value[k])}`).join(",")}}`;
}
