// Portal (HTML) actions: same-origin check first (CSRF), domain errors shown to the person in
// the page, with their status code; anything else goes to the error boundary.
import { json, type ActionFunctionArgs } from "@remix-run/node";
import { checkSameOrigin, type Need, requireUser, type Session } from "./auth.server";
import { AppError } from "./errors.server";

export type ActionResult = { ok: true; message?: string; [k: string]: unknown } | { ok: false; error: string; code: string };

/**
 * Runs a portal action. Route modules call it inside their `action` function, never at module
 * level: module-level calls would survive into the browser bundle, where this module is empty.
 * Portal actions change billing or keys: the org's admins only, unless `need` says otherwise.
 */
export async function portalAction(
  args: ActionFunctionArgs,
  fn: (args: ActionFunctionArgs & { user: Session; form: FormData }) => Promise<Response | Record<string, unknown>>,
  need: Need = { role: "admin" },
) {
  try {
    checkSameOrigin(args.request);
    const user = await requireUser(args.request, need);
    const result = await fn({ ...args, user, form: await args.request.formData() });
    return result instanceof Response ? result : json({ ok: true as const, ...result });
  } catch (err) {
    if (err instanceof AppError) return json({ ok: false as const, error: err.message, code: err.code }, { status: err.status });
    throw err;
  }
}
