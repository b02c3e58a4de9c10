// The local dev sign-in (only when Clerk is not configured, never in production).
import { Alert, Button, Card, Container, Stack, Text, TextInput, Title } from "@mantine/core";
import { type ActionFunctionArgs, json, type LoaderFunctionArgs, type MetaFunction, redirect } from "@remix-run/node";
import { Form, useActionData, useNavigation, useSearchParams } from "@remix-run/react";
import { safeNextPath } from "~/server/auth/next-path.server";
import { checkSameOrigin, devSignIn, devSignInEnabled } from "~/server/auth/session.server";
import { actionError, readPostedForm } from "~/server/http/portal-action.server";
import { AppError } from "~/server/platform/errors.server";

export const loader = async (_args: LoaderFunctionArgs) => {
  if (!devSignInEnabled) throw new Response("Not found", { status: 404 });
  return json({});
};

export const action = async ({ request }: ActionFunctionArgs) => {
  if (!devSignInEnabled) throw new Response("Not found", { status: 404 });
  try {
    checkSameOrigin(request);
    const form = await readPostedForm(request);
    const { cookie } = await devSignIn(form);
    return redirect(safeNextPath(form.get("next")), { headers: { "Set-Cookie": cookie } });
  } catch (err) {
    if (err instanceof AppError) return actionError(err);
    throw err;
  }
};

export const meta: MetaFunction = () => [{ title: "Sign in — Metered" }];

export default function DevSignIn() {
  const data = useActionData<typeof action>();
  const [params] = useSearchParams();
  const busy = useNavigation().state !== "idle";
  return (
    <Container size={420} className="py-16" component="main">
      <Title order={1} size="h2">
        Sign in
      </Title>
      <Text c="dimmed" size="sm" className="mt-1">
        Local development sign-in: you become the owner of the organisation you name.
      </Text>
      <Card withBorder padding="lg" className="mt-6">
        <Form method="post">
          <Stack>
            {data && "error" in data ? (
              <Alert color="red" role="alert">
                {data.error}
              </Alert>
            ) : null}
            <TextInput label="Email" name="email" type="email" required autoComplete="email" />
            <TextInput label="Organisation id" name="orgId" placeholder="org_acme" description="Optional: a new one is created from your email." />
            <TextInput label="Organisation name" name="orgName" placeholder="Acme Inc." />
            <input type="hidden" name="next" value={params.get("next") ?? "/dashboard"} />
            <Button type="submit" loading={busy}>
              Sign in
            </Button>
          </Stack>
        </Form>
      </Card>
    </Container>
  );
}
