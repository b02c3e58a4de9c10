// Sessions for the portal and the session routes. Without Clerk keys, the local dev sign-in
// (email + organisation) issues a signed cookie holding a server-side session id
// (session-store.server.ts); it never runs in production. The cookie is HttpOnly, SameSite=Lax,
// Secure in production; every cookie-authenticated mutation must come from our own origin (CSRF).
import { createCookieSessionStorage, json, type LoaderFunctionArgs, redirect } from "@remix-run/node";
import { z } from "zod";
import { claimOrg, ensureOrg } from "../orgs/orgs.server";
import { config } from "../platform/config.server";
import { AppError, Forbidden, Unauthenticated } from "../platform/errors.server";
import { log } from "../platform/log.server";
import { noteActor } from "../platform/request-context.server";
import { membershipChangeSince } from "./clerk-webhooks.server";
import { checkSameOrigin } from "./same-origin.server";
import { liveSession, openSession, personEmail, revokeSession, SESSION_TTL_SECONDS } from "./session-store.server";

/** `role`: the org's admins manage billing and keys; members view the dashboard and invoices. */
export type Session = { email: string; orgId: string; isAdmin: boolean; role: OrgRole };
export type OrgRole = "admin" | "member";
const CLERK_ROLES: Record<string, OrgRole> = { "org:admin": "admin", "org:member": "member" };

const secret =
  config.SESSION_SECRET ??
  (() => {
    log.warn("SESSION_SECRET is not set: sessions last until this process restarts");
    return crypto.randomUUID() + crypto.randomUUID();
  })();

const storage = createCookieSessionStorage({
  cookie: {
    name: "__session",
    httpOnly: true,
    sameSite: "lax",
    secure: config.NODE_ENV === "production",
    path: "/",
    maxAge: SESSION_TTL_SECONDS,
    secrets: [secret],
  },
});

export const devSignInEnabled = !config.CLERK_SECRET_KEY && config.NODE_ENV !== "production";

const isAdmin = (email: string) => config.ADMIN_EMAILS.includes(email.toLowerCase());

export const clerkEnabled = Boolean(config.CLERK_SECRET_KEY);
export const signInPath = clerkEnabled ? "/sign-in" : "/dev/sign-in";

const knownOrgs = new Set<string>();

/**
 * Clerk mode: an org-scoped session; the role comes from the token (org:admin or org:member), so
 * a membership change takes effect with the next token. Platform admins carry the
 * platform_admin claim (ADMIN_EMAILS stays as a fallback).
 */
async function readClerkSession(request: Request): Promise<Session | null> {
  // Chosen by configuration before any Clerk code is loaded.
  const { clerkSessionOf } = await import("./clerk.server");
  const claims = await clerkSessionOf(request);
  if (!claims) return null;
  if (!claims.orgId) throw Forbidden("Choose an organisation first.");
  // A membership change Clerk announced after this token was issued applies now.
  const change = await membershipChangeSince(claims.orgId, claims.userId, claims.issuedAt);
  const orgRole = change ? change.role : claims.orgRole;
  const role = orgRole ? CLERK_ROLES[orgRole] : undefined;
  if (!role) throw Forbidden("Your role in this organisation gives no access to the billing portal.");
  if (!knownOrgs.has(claims.orgId)) {
    await ensureOrg({ id: claims.orgId, name: claims.orgId, ownerEmail: claims.email });
    knownOrgs.add(claims.orgId);
  }
  const admin = claims.platformAdmin || (claims.email !== null && isAdmin(claims.email));
  return { email: claims.email ?? claims.userId, orgId: claims.orgId, isAdmin: admin, role };
}

/**
 * The root loader: the browser's settings, and in Clerk mode Clerk's state for ClerkApp
 * (rootAuthLoader, which answers Clerk's handshake for a page load that needs one).
 */
export async function rootLoader<T extends Record<string, unknown>>(args: LoaderFunctionArgs, data: () => T): Promise<Response> {
  if (!clerkEnabled) return json(data());
  const { clerkRootLoader } = await import("./clerk.server");
  return (await clerkRootLoader(args, data)) as unknown as Response;
}

/** The signed-in owner and org, or null. */
export async function readSession(request: Request): Promise<Session | null> {
  if (clerkEnabled) return readClerkSession(request);
  const sessionId = await devSessionId(request);
  const live = sessionId ? await liveSession(sessionId) : null;
  // The dev sign-in's person owns the org: its admin.
  return live && { ...live, isAdmin: isAdmin(live.email), role: "admin" };
}

/** The session id in a dev sign-in cookie (its signature checked), or null. */
async function devSessionId(request: Request): Promise<string | null> {
  const sessionId = (await storage.getSession(request.headers.get("cookie"))).get("sid");
  return typeof sessionId === "string" ? sessionId : null;
}

// The same-origin rule lives in one place, shared with the server's pre-check of page posts.
export { checkSameOrigin };

export type Need = { role?: "admin" };

function checkRole(session: Session, need: Need): void {
  if (need.role === "admin" && session.role !== "admin") throw Forbidden("Only the organisation's admins manage billing and API keys.");
}

/** For /api session routes: the session, or UNAUTHENTICATED; mutations must be same-origin. */
export async function requireSession(request: Request, need: Need = {}): Promise<Session> {
  const session = await readSession(request);
  if (!session) throw Unauthenticated("Sign in first.");
  checkSameOrigin(request);
  noteActor(session.email, session.orgId);
  checkRole(session, need);
  return session;
}

/** For portal pages: the session, or a redirect to sign-in; a missing role is a 403 page. */
export async function requireUser(request: Request, need: Need = {}): Promise<Session> {
  let session: Session | null;
  try {
    session = await readSession(request);
    if (session) checkRole(session, need);
  } catch (err) {
    // A signed-in person who may not use the portal (not the org's owner): a clear 403 page.
    if (err instanceof AppError) throw new Response(err.message, { status: err.status });
    throw err;
  }
  if (!session) throw redirect(`${signInPath}?next=${encodeURIComponent(new URL(request.url).pathname)}`);
  return session;
}

const signInForm = z.object({
  email: personEmail,
  orgId: z
    .string()
    .trim()
    .regex(/^org_[A-Za-z0-9_-]{1,64}$/, "An organisation id looks like org_acme.")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  orgName: z.string().trim().max(100).optional(),
});

/**
 * Local dev sign-in: signs in as the owner of `orgId` (created when new). An org belongs to its
 * owner email: the first sign-in claims an org without one, and anyone else is refused.
 */
export async function devSignIn(form: FormData): Promise<{ cookie: string; orgId: string }> {
  if (!devSignInEnabled) throw new AppError("NOT_FOUND", "Not found.");
  const parsed = signInForm.safeParse(Object.fromEntries(form));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new AppError("VALIDATION_FAILED", issues.map((i) => i.message).join(" "), { issues });
  }
  const { email, orgName } = parsed.data;
  const orgId =
    parsed.data.orgId ??
    `org_${
      email
        .split("@")[0]
        .replace(/[^A-Za-z0-9_-]/g, "")
        .slice(0, 40) || "dev"
    }`;
  const { ownerEmail } = await claimOrg({ id: orgId, name: orgName || orgId, email });
  if (ownerEmail.toLowerCase() !== email)
    throw Forbidden(`The organisation ${orgId} belongs to another owner. Sign in with its owner's email, or choose another organisation id.`);
  const session = await storage.getSession();
  session.set("sid", await openSession({ email, orgId }));
  return { cookie: await storage.commitSession(session), orgId };
}

/**
 * Ends the session and answers the Set-Cookie that clears it. A dev session is revoked on the
 * server, so a copy of the old cookie stops working too; in Clerk mode, Clerk ends its own
 * session (the browser calls Clerk.signOut) and this only clears the cookie.
 */
export async function signOut(request: Request): Promise<string> {
  const sessionId = clerkEnabled ? null : await devSessionId(request);
  if (sessionId) await revokeSession(sessionId);
  return storage.destroySession(await storage.getSession(request.headers.get("cookie")));
}
