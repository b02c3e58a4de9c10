import chartStyles from "@mantine/charts/styles.css";
import { ColorSchemeScript, MantineProvider, mantineHtmlProps } from "@mantine/core";
import mantineStyles from "@mantine/core/styles.css";
import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { isRouteErrorResponse, Links, Meta, Outlet, Scripts, ScrollRestoration, useLoaderData, useRouteError, useRouteLoaderData } from "@remix-run/react";
import { ClerkRoot } from "~/clerk.browser";
import { initBrowserSentry, useReportBoundaryError } from "~/sentry.browser";
import { rootLoader } from "~/server/auth/session.server";
import { sentryBrowserConfig } from "~/server/observe/sentry.server";
import { clerkBrowserConfig } from "~/server/platform/config.server";
import { NavigationProgress } from "./components/navigation-progress";
import tailwindStyles from "./tailwind.css";
import { cssVariablesResolver, theme } from "./theme";

export const links: LinksFunction = () => [
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
  { rel: "icon", href: "/favicon.ico", sizes: "16x16" },
  { rel: "stylesheet", href: mantineStyles },
  { rel: "stylesheet", href: chartStyles },
  { rel: "stylesheet", href: tailwindStyles },
];

export const meta: MetaFunction = () => [{ title: "Metered — API plans with included usage" }];

// What the browser may know: Clerk's publishable key and frontend API host, and Sentry's public
// DSN, when set; in Clerk mode, Clerk's state for ClerkApp too.
const browserSettings = () => ({ clerk: clerkBrowserConfig(), sentry: sentryBrowserConfig() });
type RootData = ReturnType<typeof browserSettings> & { clerkState?: unknown };
export const loader = (args: LoaderFunctionArgs) => rootLoader(args, browserSettings);

export function Layout({ children }: { children: React.ReactNode }) {
  const root = useRouteLoaderData("root") as RootData | undefined;
  initBrowserSentry(root?.sentry ?? null);
  return (
    <html lang="en" {...mantineHtmlProps}>
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
        <ColorSchemeScript />
      </head>
      <body>
        <MantineProvider theme={theme} cssVariablesResolver={cssVariablesResolver}>
          <NavigationProgress />
          {children}
        </MantineProvider>
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  // Clerk mode: the app inside ClerkProvider (ClerkApp reads clerkState from this loader).
  const data = useLoaderData() as RootData;
  return data.clerkState ? <ClerkRoot /> : <Outlet />;
}

export function ErrorBoundary() {
  const error = useRouteError();
  useReportBoundaryError(error);
  const title = isRouteErrorResponse(error) ? `${error.status} ${error.statusText}` : "Something went wrong";
  return (
    <main className="mx-auto max-w-xl p-8">
      <h1 className="text-2xl font-semibold">{title}</h1>
      <p className="mt-2 text-gray-600">
        Try again, or go back to the <a href="/">home page</a>.
      </p>
    </main>
  );
}
