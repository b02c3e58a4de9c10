// The one browser-side module that uses Clerk (@clerk/remix): the provider around the app
// (ClerkApp, fed by the root loader's rootAuthLoader) and Clerk's own components. Rendered only
// in Clerk mode; with the local dev sign-in none of it mounts and ClerkJS is never fetched.
import { ClerkApp, OrganizationSwitcher, SignIn, UserButton } from "@clerk/remix";
import { Outlet } from "@remix-run/react";

/** The app inside ClerkProvider; ClerkJS is loaded from the instance's frontend API after hydration. */
export const ClerkRoot = ClerkApp(() => <Outlet />, { afterSignOutUrl: "/" });

/** The portal header's account controls: switch organisation, the user menu (sign out, profile). */
export function ClerkAccountControls() {
  return (
    <>
      <OrganizationSwitcher hidePersonal afterSelectOrganizationUrl="/dashboard" afterCreateOrganizationUrl="/dashboard" />
      <UserButton />
    </>
  );
}

/** Clerk's sign-in form, for instances without a hosted sign-in page (CLERK_SIGN_IN_URL). */
export function ClerkSignIn({ redirectUrl }: { redirectUrl: string }) {
  return <SignIn routing="hash" forceRedirectUrl={redirectUrl} />;
}
