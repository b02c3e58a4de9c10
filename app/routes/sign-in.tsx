// Clerk mode's sign-in: Clerk's hosted sign-in (CLERK_SIGN_IN_URL) when set, else Clerk's
// <SignIn /> here; back to the portal after.
import { json, type LoaderFunctionArgs, redirect } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { ClerkSignIn } from "~/clerk.browser";
import { safeNextPath } from "~/server/auth/next-path.server";
import { config } from "~/server/platform/config.server";

export const loader = ({ request }: LoaderFunctionArgs) => {
  const back = safeNextPath(new URL(request.url).searchParams.get("next"));
  // The local sign-in keeps where to go after it (the home page's "Start free trial": /billing).
  if (!config.CLERK_SECRET_KEY) return redirect(back === "/dashboard" ? "/dev/sign-in" : `/dev/sign-in?next=${encodeURIComponent(back)}`);
  if (!config.CLERK_SIGN_IN_URL) return json({ redirectUrl: back });
  const target = new URL(config.CLERK_SIGN_IN_URL);
  target.searchParams.set("redirect_url", `${config.baseUrl}${back}`);
  return redirect(target.toString());
};

export default function SignInPage() {
  const { redirectUrl } = useLoaderData<typeof loader>();
  return (
    <main className="mx-auto flex max-w-md justify-center p-8">
      <ClerkSignIn redirectUrl={redirectUrl} />
    </main>
  );
}
