// The signed-in portal's frame: navigation, the org, sign out. Every child page requires a session.
import { AppShell, Badge, Box, Burger, Button, Group, Text } from "@mantine/core";
import { json, type LoaderFunctionArgs } from "@remix-run/node";
import { Form, isRouteErrorResponse, NavLink, Outlet, useLoaderData, useLocation, useRouteError } from "@remix-run/react";
import { useEffect, useState } from "react";
import { ClerkAccountControls } from "~/clerk.browser";
import { PaymentDueBanner } from "~/components/payment-due-banner";
import { useReportBoundaryError } from "~/sentry.browser";
import { clerkEnabled, requireUser } from "~/server/auth/session.server";
import { paymentDue } from "~/server/billing/overview.server";
import { getOrg } from "~/server/orgs/orgs.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request);
  const org = await getOrg(user.orgId);
  // A failed renewal payment (past_due, or unpaid after the retries): every page says so, once.
  const due = await paymentDue(user.orgId);
  return json({
    email: user.email,
    isAdmin: user.isAdmin,
    role: user.role,
    clerk: clerkEnabled,
    org: { id: org.id, name: org.name, timeZone: org.timeZone },
    due,
  });
};

// Members view the dashboard and invoices; billing and keys are the org admins'.
const ADMIN_ONLY = new Set(["/billing", "/keys", "/webhooks", "/settings"]);
const links = [
  { to: "/dashboard", label: "Dashboard" },
  { to: "/billing", label: "Billing" },
  { to: "/invoices", label: "Invoices" },
  { to: "/keys", label: "API keys" },
  { to: "/webhooks", label: "Webhooks" },
  { to: "/settings", label: "Settings" },
];

export default function Portal() {
  const { email, isAdmin, role, clerk, org, due } = useLoaderData<typeof loader>();
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();
  // A chosen page closes the phone menu.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every navigation on purpose
  useEffect(() => setMenuOpen(false), [location.pathname]);
  // Members see what they may use: billing, keys, webhooks and settings are the org admins'.
  const pages = [...links.filter((l) => role === "admin" || !ADMIN_ONLY.has(l.to)), ...(isAdmin ? [{ to: "/admin", label: "Admin" }] : [])];
  return (
    <AppShell header={{ height: 60 }} navbar={{ width: 240, breakpoint: "sm", collapsed: { mobile: !menuOpen, desktop: true } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="lg" wrap="nowrap" className="min-w-0 flex-1">
            <Burger
              opened={menuOpen}
              onClick={() => setMenuOpen((o) => !o)}
              hiddenFrom="sm"
              size="sm"
              aria-label={menuOpen ? "Close the menu" : "Open the menu"}
              aria-expanded={menuOpen}
              aria-controls="portal-menu"
            />
            <Text fw={700} className="shrink-0">
              Metered
            </Text>
            <Box component="nav" aria-label="Main" visibleFrom="sm" className="flex min-w-0 gap-1 p-1">
              <PageLinks pages={pages} />
            </Box>
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
      <AppShell.Navbar p="sm" id="portal-menu" hiddenFrom="sm">
        {menuOpen ? (
          <nav aria-label="Main" className="flex flex-col gap-1">
            <PageLinks pages={pages} />
            <Text size="sm" c="dimmed" className="mt-3 px-3 break-all">
              {org.name} · {email}
            </Text>
          </nav>
        ) : null}
      </AppShell.Navbar>
      <AppShell.Main>
        <div className="mx-auto max-w-5xl">
          {due ? <PaymentDueBanner due={due} timeZone={org.timeZone} canPay={role === "admin"} /> : null}
          <Outlet />
        </div>
      </AppShell.Main>
    </AppShell>
  );
}

function PageLinks({ pages }: { pages: { to: string; label: string }[] }) {
  return pages.map((l) => (
    <NavLink
      key={l.to}
      to={l.to}
      prefetch="intent"
      className={({ isActive }) =>
        `whitespace-nowrap rounded px-3 py-1.5 text-sm no-underline ${isActive ? "bg-indigo-50 font-semibold text-indigo-800" : "text-gray-700 hover:bg-gray-100"}`
      }
    >
      {l.label}
    </NavLink>
  ));
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
