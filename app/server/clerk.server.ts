// The one module that talks to Clerk. Session tokens are verified without network when
// CLERK_JWT_KEY (the instance's PEM public key) is set. Loaded only when Clerk is configured.
import { verifyToken } from "@clerk/backend";
import { config } from "./config.server";

export type ClerkClaims = { userId: string; orgId: string | null; orgRole: string | null; email: string | null };

type SessionClaims = {
  sub: string;
  org_id?: string;
  org_role?: string;
  o?: { id?: string; rol?: string };
  email?: string;
};

/** The verified claims of a Clerk session token, or null when it is missing, forged or expired. */
export async function verifyClerkSession(token: string | null): Promise<ClerkClaims | null> {
  if (!token) return null;
  let claims: SessionClaims;
  try {
    // The package's entry point returns the payload and throws on any failure.
    const result = (await verifyToken(token, {
      jwtKey: config.CLERK_JWT_KEY,
      secretKey: config.CLERK_SECRET_KEY,
      authorizedParties: [new URL(config.baseUrl).origin],
    })) as unknown as SessionClaims & { errors?: unknown };
    if (!result || result.errors || typeof result.sub !== "string") return null;
    claims = result;
  } catch {
    return null;
  }
  // Session token v1 carries org_id/org_role; v2 carries o.id/o.rol.
  const orgId = claims.org_id ?? claims.o?.id ?? null;
  const orgRole = claims.org_role ?? (claims.o?.rol ? `org:${claims.o.rol}` : null);
  return { userId: claims.sub, orgId, orgRole, email: claims.email?.toLowerCase() ?? null };
}
