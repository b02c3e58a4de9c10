// The signed-in portal's frame: navigation, the org, sign out. Every child page requires a session.
import { AppShell, Badge, Box, Burger, Button, Group, Text } from "@mantine/core";
import { useFocusTrap } from "@mantine/hooks";
import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, isRouteErrorResponse, NavLink, Outlet, useLoaderData, useLocation, useRouteError } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
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

// Each page's own title, by its path (the layout's, so every portal page has one).
const TITLES: Record<string, string> = {
  "/dashboard": "Dashboard",
  "/billing": "Billing",
  "/billing/top-ups": "Buy credits",
  "/invoices": "Invoices",
  "/keys": "API keys",
  "/webhooks": "Webhooks",
  "/settings": "Settings",
  "/admin": "Operations",
};
export const meta: MetaFunction = ({ location }) => [{ title: `${TITLES[location.pathname.replace(/\/$/, "")] ?? "Portal"} — Metered` }];

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
  usePageFocus(location.pathname);
  const burger = useRef<HTMLButtonElement>(null);
  // The open phone menu keeps Tab inside it, and Escape closes it with focus back on its button.
  const menuTrap = useFocusTrap(menuOpen);
  const closeMenu = () => {
    setMenuOpen(false);
    burger.current?.focus();
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: closeMenu only sets state and focuses a ref
  useEffect(() => {
    if (!menuOpen) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") closeMenu();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [menuOpen]);
  // Members see what they may use: billing, keys, webhooks and settings are the org admins'.
  const pages = [...links.filter((l) => role === "admin" || !ADMIN_ONLY.has(l.to)), ...(isAdmin ? [{ to: "/admin", label: "Admin" }] : [])];
  return (
    <AppShell header={{ height: 60 }} navbar={{ width: 240, breakpoint: "sm", collapsed: { mobile: !menuOpen, desktop: true } }} padding="md">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="lg" wrap="nowrap" className="min-w-0 flex-1">
            <Burger
              ref={burger}
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
          <nav aria-label="Main" className="flex flex-col gap-1" ref={menuTrap}>
            <Button variant="subtle" size="xs" className="self-end" onClick={closeMenu}>
              Close menu
            </Button>
            <PageLinks pages={pages} />
            <Text size="sm" c="dimmed" className="mt-3 px-3 break-all">
              {org.name} · {email}
            </Text>
          </nav>
        ) : null}
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1} className="outline-none">
        <div className="mx-auto max-w-5xl">
          {due ? <PaymentDueBanner due={due} timeZone={org.timeZone} canPay={role === "admin"} /> : null}
          <Outlet />
        </div>
      </AppShell.Main>
    </AppShell>
  );
}

/**
 * After a client-side navigation, focus goes to the new page's heading (read out by screen
 * readers), as a full page load starts at the top; the first render leaves focus alone.
 */
function usePageFocus(pathname: string) {
  const first = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every navigation on purpose
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const heading = document.querySelector<HTMLElement>("#main h1");
    if (!heading) return;
    heading.tabIndex = -1;
    heading.focus({ preventScroll: false });
  }, [pathname]);
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
