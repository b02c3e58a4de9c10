// Clerk mode's sign-in: Clerk's hosted sign-in (CLERK_SIGN_IN_URL), back to the portal after.
import { redirect, type LoaderFunctionArgs } from "@remix-run/node";
import { config } from "~/server/config.server";

export const loader = ({ request }: LoaderFunctionArgs) => {
  if (!config.CLERK_SECRET_KEY) return redirect("/dev/sign-in");
  if (!config.CLERK_SIGN_IN_URL) throw new Response("Sign-in is not configured: set CLERK_SIGN_IN_URL.", { status: 503 });
  const next = new URL(request.url).searchParams.get("next") ?? "/dashboard";
  const target = new URL(config.CLERK_SIGN_IN_URL);
  target.searchParams.set("redirect_url", `${config.baseUrl}${/^\/[A-Za-z0-9/_-]*$/.test(next) ? next : "/dashboard"}`);
  return redirect(target.toString());
};
