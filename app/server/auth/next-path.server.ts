// Where sign-in sends the browser afterwards. Only a path on this site: one leading "/" followed by
// plain path characters. "//host" and "/\host" are read by browsers as another site, and anything
// with a scheme, a dot, "%" or "\" is refused rather than decoded and judged.
const sameSitePath = /^\/(?!\/)[A-Za-z0-9/_-]*$/;

export const safeNextPath = (next: unknown, fallback = "/dashboard"): string => (typeof next === "string" && sameSitePath.test(next) ? next : fallback);
