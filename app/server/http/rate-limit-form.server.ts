// The keys page's rate limit fields (components/api-keys.tsx, RateLimitFields) as the API's
// `rateLimits`: the same three meanings (null: the org's default, []: none, else a list) and the
// same schema, so the page and `PATCH /api/v1/keys/{id}` refuse the same limits with the same words.
import { wholeNumberOf } from "../api/form-fields.server";
import { rateLimits } from "../api/schemas.server";
import type { KeyRateLimit } from "../auth/rate-limits.server";
import { AppError, validationIssues } from "../platform/errors.server";

const FIELD_NAMES: Record<string, string> = { limit: "requests allowed", windowSeconds: "window" };

/**
 * A form's `limitMode` ("default", "none" or "custom") and its rows of `limit` and
 * `windowSeconds` fields, in order. A row whose count is left empty is no limit: the page
 * without JavaScript offers a spare row, and clearing a row's count removes it.
 */
export function rateLimitsFromForm(form: FormData): KeyRateLimit[] | null {
  const mode = String(form.get("limitMode") ?? "default");
  if (mode === "default") return null;
  if (mode === "none") return [];
  if (mode !== "custom") throw new AppError("VALIDATION_FAILED", "Choose a rate limit.");
  const windows = form.getAll("windowSeconds").map(String);
  const rows = form
    .getAll("limit")
    .map(String)
    .flatMap((count, i) => (count.trim() === "" ? [] : [{ row: i + 1, limit: wholeNumberOf(count), windowSeconds: wholeNumberOf(windows[i] ?? "") }]));
  if (rows.length === 0) throw new AppError("VALIDATION_FAILED", 'Fill in at least one limit, or choose "No limit".');
  const parsed = rateLimits.safeParse(rows.map(({ limit, windowSeconds }) => ({ limit, windowSeconds })));
  if (parsed.success) return parsed.data;
  // Each refusal names the row as the page numbers it ("Limit 2: requests allowed must be …").
  const issues = parsed.error.issues.map((issue) => {
    const [index, field] = issue.path;
    return typeof index === "number"
      ? `Limit ${rows[index].row}: ${FIELD_NAMES[String(field)] ?? String(field)} ${issue.message}`
      : `Rate limits: ${issue.message}`;
  });
  throw new AppError("VALIDATION_FAILED", `${[...new Set(issues)].join("; ")}.`, { issues: validationIssues(parsed.error) });
}
