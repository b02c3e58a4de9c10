// Portal (HTML) actions: POST only, same-origin check first (CSRF), the body read as a form;
// domain errors — a wrong method, a body that is not a form, bad input — are shown to the person
// in the page, with their status code (never a 500); anything else goes to the error boundary.
import { type ActionFunctionArgs, json } from "@remix-run/node";
import { checkSameOrigin } from "../auth/same-origin.server";
import { type Need, requireUser, type Session } from "../auth/session.server";
import { AppError, nulRefused } from "../platform/errors.server";
import { inRequest } from "../platform/request-context.server";
import { contextOf } from "./envelope.server";

export type ActionResult = { ok: true; message?: string; [k: string]: unknown } | { ok: false; error: string; code: string };

const FORM_TYPE = /^(application\/x-www-form-urlencoded|multipart\/form-data)\s*(;|$)/i;

/** The posted form of a portal action: 405 for another method, 400 for a body that is not a form. */
export async function readPostedForm(request: Request): Promise<FormData> {
  if (request.method !== "POST") throw new AppError("METHOD_NOT_ALLOWED", "Submit this form with POST.", {}, { Allow: "POST" });
  if (!FORM_TYPE.test(request.headers.get("content-type") ?? ""))
    throw new AppError("VALIDATION_FAILED", "Send the form as application/x-www-form-urlencoded or multipart/form-data.");
  let form: FormData;
  try {
    form = await request.formData();
  } catch (err) {
    // Over the body limit (PayloadTooLarge, from the server boundary) keeps its own status.
    if (err instanceof AppError) throw err;
    throw new AppError("VALIDATION_FAILED", "The form could not be read.");
  }
  for (const [name, value] of form.entries())
    if (typeof value === "string" && (value.includes("\0") || name.includes("\0"))) throw nulRefused(name.replaceAll("\0", "\\u0000"));
  return form;
}

/** A domain error as the page's own error state (the page shows `error`), with its status. */
export const actionError = (err: AppError) => json({ ok: false as const, error: err.message, code: err.code }, { status: err.status, headers: err.headers });

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
    const { requestId } = contextOf(args.request);
    const form = await readPostedForm(args.request);
    const result = await inRequest({ requestId, actor: user.email, orgId: user.orgId }, () => fn({ ...args, user, form }));
    return result instanceof Response ? result : json({ ok: true as const, ...result });
  } catch (err) {
    if (err instanceof AppError) return actionError(err);
    throw err;
  }
}
