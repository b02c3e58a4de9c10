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
