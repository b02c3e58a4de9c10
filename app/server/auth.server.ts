// Sessions for the portal and the session routes. Without Clerk keys, the local dev sign-in
// (email + organisation) issues a signed cookie; it never runs in production. The cookie is
// HttpOnly, SameSite=Lax, Secure in production; every cookie-authenticated mutation must come
// from our own origin (CSRF).
import { createCookieSessionStorage, redirect } from "@remix-run/node";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { config } from "./config.server";
import { db, schema } from "./db.server";
import { AppError, Forbidden, Unauthenticated } from "./errors.server";
import { log } from "./log.server";

export type Session = { email: string; orgId: string; isAdmin: boolean };

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
    maxAge: 7 * 24 * 3600,
    secrets: [secret],
  },
});

export const devSignInEnabled = !config.CLERK_SECRET_KEY && config.NODE_ENV !== "production";

const isAdmin = (email: string) => config.ADMIN_EMAILS.includes(email.toLowerCase());

/** The signed-in owner and org, or null. */
export async function readSession(request: Request): Promise<Session | null> {
  const session = await storage.getSession(request.headers.get("cookie"));
  const email = session.get("email");
  const orgId = session.get("orgId");
  if (typeof email !== "string" || typeof orgId !== "string") return null;
  return { email, orgId, isAdmin: isAdmin(email) };
}

/** Refuses a cookie-authenticated mutation that does not come from this site. */
export function checkSameOrigin(request: Request): void {
  if (request.method === "GET" || request.method === "HEAD") return;
  const origin = request.headers.get("origin") ?? (request.headers.get("referer") ? new URL(request.headers.get("referer")!).origin : null);
  const own = new URL(request.url).origin;
  const allowed = new Set([own, new URL(config.baseUrl).origin]);
  if (!origin || !allowed.has(origin)) throw Forbidden("Cross-site request refused.");
}

/** For /api session routes: the session, or UNAUTHENTICATED; mutations must be same-origin. */
export async function requireSession(request: Request): Promise<Session> {
  const session = await readSession(request);
  if (!session) throw Unauthenticated("Sign in first.");
  checkSameOrigin(request);
  return session;
}

/** For portal pages: the session, or a redirect to sign-in. */
export async function requireUser(request: Request): Promise<Session> {
  const session = await readSession(request);
  if (!session) throw redirect(`/dev/sign-in?next=${encodeURIComponent(new URL(request.url).pathname)}`);
  return session;
}

const signInForm = z.object({
  email: z.string().trim().toLowerCase().email("Enter a valid email address.").max(254),
  orgId: z
    .string()
    .trim()
    .regex(/^org_[A-Za-z0-9_-]{1,64}$/, "An organisation id looks like org_acme.")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  orgName: z.string().trim().max(100).optional(),
});

/**
 * Local dev sign-in: signs in as the owner of `orgId` (created when new). An existing org
 * belongs to its owner email: anyone else is refused.
 */
export async function devSignIn(form: FormData): Promise<{ cookie: string; orgId: string }> {
  if (!devSignInEnabled) throw new AppError("NOT_FOUND", "Not found.");
  const parsed = signInForm.safeParse(Object.fromEntries(form));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new AppError("VALIDATION_FAILED", issues.map((i) => i.message).join(" "), { issues });
  }
  const { email, orgName } = parsed.data;
  const orgId = parsed.data.orgId ?? `org_${email.split("@")[0].replace(/[^A-Za-z0-9_-]/g, "").slice(0, 40) || "dev"}`;
  const [existing] = await db.select().from(schema.organisations).where(eq(schema.organisations.id, orgId));
  if (existing && existing.ownerEmail && existing.ownerEmail !== email) throw Forbidden("That organisation belongs to another owner.");
  if (!existing) await db.insert(schema.organisations).values({ id: orgId, name: orgName || orgId, ownerEmail: email }).onConflictDoNothing();
  const session = await storage.getSession();
  session.set("email", email);
  session.set("orgId", orgId);
  return { cookie: await storage.commitSession(session), orgId };
}

export async function signOut(request: Request): Promise<string> {
  return storage.destroySession(await storage.getSession(request.headers.get("cookie")));
}
