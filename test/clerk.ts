// A networkless Clerk for tests: session tokens signed with a local RSA key, and the env that makes
// the app verify them (CLERK_JWT_KEY) with production-style keys naming clerk.example.com.
import { createSign, generateKeyPairSync, type KeyObject } from "node:crypto";

const b64 = (x: string | Buffer) => Buffer.from(x).toString("base64url");

export function localClerk() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    /** A session token as Clerk mints it; `key` signs it (another key makes a forged one). */
    token(claims: Record<string, unknown>, key: KeyObject = privateKey): string {
      const now = Math.floor(Date.now() / 1000);
      const header = b64(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "ins_test" }));
      const body = b64(JSON.stringify({ iss: "https://clerk.example.com", sid: "sess_1", v: 1, iat: now - 5, nbf: now - 10, exp: now + 3600, ...claims }));
      return `${header}.${body}.${b64(createSign("RSA-SHA256").update(`${header}.${body}`).sign(key))}`;
    },
    /** The app's Clerk settings, served at `origin` (the tokens' authorized party). */
    env(origin: string): Record<string, string> {
      return {
        PORT: new URL(origin).port,
        APP_BASE_URL: origin,
        CLERK_SECRET_KEY: "sk_live_networkless",
        // Production-style: pk_live_ + base64("clerk.example.com$"), the frontend API the tokens name.
        CLERK_PUBLISHABLE_KEY: `pk_live_${Buffer.from("clerk.example.com$").toString("base64")}`,
        CLERK_JWT_KEY: publicKey.export({ type: "spki", format: "pem" }).toString(),
      };
    },
  };
}
