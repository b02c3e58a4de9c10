// Numbers as people type them in the portal's forms, read into what the API's schemas take: the
// form and the API then refuse the same values, and nothing reaches a schema that JavaScript's
// Number() would have read differently ("1e2" as 100, "0x10" as 16, "" as 0).

/**
 * A whole number: digits, with or without commas between thousands ("1,000"). Anything else
 * ("1e2", "0x10", "2.5", "-1", "") is NaN, which the schemas refuse as not a number.
 */
export function wholeNumberOf(text: string): number {
  const t = text.trim();
  return /^(\d+|\d{1,3}(,\d{3})+)$/.test(t) ? Number(t.replaceAll(",", "")) : Number.NaN;
}

/**
 * An amount in dollars ("250", "250.5", "$1,000.50"): its cents. Anything else ("-5", "abc",
 * "12.345", "") is NaN, which the schemas refuse.
 */
export function centsOf(text: string): number {
  const t = text.trim().replace(/^\$/, "");
  return /^(\d+|\d{1,3}(,\d{3})+)(\.\d{1,2})?$/.test(t) ? Math.round(Number(t.replaceAll(",", "")) * 100) : Number.NaN;
}

/** Cents as the portal's sentences show an amount: "$1,000,000". */
export const dollars = (cents: number) => `$${(cents / 100).toLocaleString("en-US")}`;
