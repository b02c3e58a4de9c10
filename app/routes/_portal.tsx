// The signed-in portal's frame: navigation, the org, sign out. Every child page requires a session.
import { AppShell, Badge, Button, Group, Text } from "@mantine/core";
import { json, type LoaderFunctionArgs } from "@remix-run/node";
import { Form, NavLink, Outlet, isRouteErrorResponse, useLoaderData, useRouteError } from "@remix-run/react";
import { ClerkAccountControls } from "~/clerk.browser";
import { clerkEnabled, requireUser } from "~/server/auth.server";
import { getOrg } from "~/server/orgs.server";
import { useReportBoundaryError } from "~/sentry.browser";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request);
  const org = await getOrg(user.orgId);
  return json({ email: user.email, isAdmin: user.isAdmin, role: user.role, clerk: clerkEnabled, org: { id: org.id, name: org.name } });
};

// Members view the dashboard and invoices; billing and keys are the org admins'.
const ADMIN_ONLY = new Set(["/billing", "/keys"]);
const links = [
  { to: "/dashboard", label: "Dashboard" },
  { to: "/billing", label: "Billing" },
  { to: "/invoices", label: "Invoices" },
  { to: "/keys", label: "API keys" },
];

export default function Portal() {
  const { email, isAdmin, role, clerk, org } = useLoaderData<typeof loader>();
  return (
    <AppShell header={{ height: 60 }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="lg" wrap="nowrap" className="min-w-0 flex-1">
            <Text fw={700} className="shrink-0">
              Metered
            </Text>
            <nav aria-label="Main" className="flex min-w-0 gap-1 overflow-x-auto">
              {[...links.filter((l) => role === "admin" || !ADMIN_ONLY.has(l.to)), ...(isAdmin ? [{ to: "/admin", label: "Admin" }] : [])].map((l) => (
                <NavLink
                  key={l.to}
                  to={l.to}
                  prefetch="intent"
                  className={({ isActive }) =>
                    `whitespace-nowrap rounded px-3 py-1.5 text-sm no-underline ${isActive ? "bg-indigo-50 font-semibold text-indigo-700" : "text-gray-700 hover:bg-gray-100"}`
                  }
                >
                  {l.label}
                </NavLink>
              ))}
            </nav>
          </Group>
          <Group gap="sm" wrap="nowrap" className="shrink-0">
            <Badge variant="light" className="hidden sm:inline-flex" title={org.id}>
              {org.name}
            </Badge>
            <Text size="sm" c="dimmed" className="hidden md:block">
              {email}
            </Text>
            {clerk ? (
              // Clerk's organisation switcher and user menu (its sign-out ends Clerk's session).
              <ClerkAccountControls />
            ) : (
              <Form method="post" action="/sign-out">
                <Button type="submit" variant="subtle" size="xs">
                  Sign out
                </Button>
              </Form>
            )}
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Main>
        <div className="mx-auto max-w-5xl">
          <Outlet />
        </div>
      </AppShell.Main>
    </AppShell>
  );
}

/** A page that fails keeps the portal around it, with a way back. */
export function ErrorBoundary() {
  const error = useRouteError();
  useReportBoundaryError(error);
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const message = isRouteErrorResponse(error) && typeof error.data === "string" ? error.data : "Something went wrong on our side. Please try again.";
  return (
    <main className="mx-auto max-w-xl p-8" role="alert">
      <h1 className="text-2xl font-semibold">{status === 404 ? "Not found" : status === 403 ? "Not allowed" : "Something went wrong"}</h1>
      <p className="mt-2 text-gray-600">{message}</p>
      <p className="mt-4">
        <a href="/dashboard">Back to the dashboard</a>
      </p>
    </main>
  );
}
