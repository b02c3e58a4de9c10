// The one server module that talks to Clerk (@clerk/remix). Requests are authenticated without
// network: the session token is verified against CLERK_JWT_KEY (the instance's PEM public key)
// for our own origin (authorizedParties). A page load whose token needs refreshing (expired, no
// __client_uat, ...) answers Clerk's 307 handshake, as Clerk documents; data requests are
// signed out instead. Loaded only when Clerk is configured (session.server.ts decides).
import { getAuth, rootAuthLoader } from "@clerk/remix/ssr.server";
import type { LoaderFunctionArgs } from "@remix-run/node";
import { config } from "../platform/config.server";

export type ClerkClaims = { userId: string; orgId: string | null; orgRole: string | null; email: string | null; platformAdmin: boolean; issuedAt: Date };

/** The role a person with a platform-admin claim carries (session token template, see .env.example). */
export const PLATFORM_ADMIN_ROLE = "platform_admin";

const options = () => ({
  secretKey: config.CLERK_SECRET_KEY,
  publishableKey: config.CLERK_PUBLISHABLE_KEY,
  jwtKey: config.CLERK_JWT_KEY,
  signInUrl: config.CLERK_SIGN_IN_URL,
  authorizedParties: [new URL(config.baseUrl).origin],
});

type SessionClaims = {
  iat?: number;
  email?: unknown;
  platform_role?: unknown;
  public_metadata?: { role?: unknown };
  o?: { id?: string; rol?: string };
};

/**
 * The verified claims of the request's Clerk session, or null when signed out (missing, forged,
 * expired or foreign token). Throws Clerk's 307 handshake Response for a page load that needs one.
 */
export async function clerkSessionOf(request: Request): Promise<ClerkClaims | null> {
  const auth = await getAuth({ request, params: {}, context: {} } as LoaderFunctionArgs, options());
  if (!auth.userId) return null;
  const claims = (auth.sessionClaims ?? {}) as SessionClaims;
  // Session token v1 carries org_id/org_role (auth.orgId/orgRole); v2 carries o.id/o.rol.
  const orgId = auth.orgId ?? claims.o?.id ?? null;
  const orgRole = auth.orgRole ?? (claims.o?.rol ? `org:${claims.o.rol}` : null);
  const role = claims.platform_role ?? claims.public_metadata?.role;
  return {
    userId: auth.userId,
    orgId,
    orgRole,
    email: typeof claims.email === "string" ? claims.email.toLowerCase() : null,
    platformAdmin: role === PLATFORM_ADMIN_ROLE,
    issuedAt: new Date((claims.iat ?? 0) * 1000),
  };
}

/** The root loader in Clerk mode: Clerk's state for ClerkApp, plus the app's own root data. */
export function clerkRootLoader<T extends Record<string, unknown>>(args: LoaderFunctionArgs, data: () => T) {
  return rootAuthLoader(args, () => data(), options());
}
