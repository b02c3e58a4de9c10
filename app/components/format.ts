// Numbers, money and dates for people: the one formatter of the portal. Dates are shown in the
// org's time zone, always as "Nov 25, 2026" (with ", 2:05 PM" when the time matters).
export const formatNumber = (n: number) => new Intl.NumberFormat("en-US").format(n);
export const formatMoney = (minor: number, currency: string) =>
  new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() }).format(minor / 100);
export const formatPercent = (fraction: number) => `${Math.floor(fraction * 100)}%`;

const dateParts = { year: "numeric", month: "short", day: "numeric" } as const;
export const formatDate = (iso: string | Date, timeZone: string) => new Intl.DateTimeFormat("en-US", { timeZone, ...dateParts }).format(new Date(iso));
export const formatDateTime = (iso: string | Date, timeZone: string) =>
  new Intl.DateTimeFormat("en-US", { timeZone, ...dateParts, hour: "numeric", minute: "2-digit" }).format(new Date(iso));
/** A calendar day given as YYYY-MM-DD (already in the org's zone), short: "Nov 25". */
export const formatDay = (day: string) =>
  new Intl.DateTimeFormat("en-US", { timeZone: "UTC", month: "short", day: "numeric" }).format(new Date(`${day}T00:00:00Z`));
export const daysUntil = (iso: string) => Math.max(0, Math.ceil((Date.parse(iso) - Date.now()) / 86_400_000));
