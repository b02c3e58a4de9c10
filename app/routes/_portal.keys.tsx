// API keys: create (shown once, with a copy button), list, revoke.
import { Alert, Card, Code, Stack, Text, Title } from "@mantine/core";
import { type ActionFunctionArgs, json, type LoaderFunctionArgs, type SerializeFrom } from "@remix-run/node";
import { useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { CreateKeyForm, NewKey, RevokedNotice, RevokeKey } from "~/components/api-keys";
import { formatDateTime } from "~/components/format";
import { type Column, ResponsiveTable } from "~/components/responsive-table";
import { createApiKey, listApiKeys, revokeApiKey } from "~/server/auth/keys.server";
import { requireUser } from "~/server/auth/session.server";
import { portalAction } from "~/server/http/portal-action.server";
import { getOrg } from "~/server/orgs/orgs.server";
import { AppError } from "~/server/platform/errors.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request, { role: "admin" });
  const org = await getOrg(user.orgId);
  return json({ keys: await listApiKeys(user.orgId), timeZone: org.timeZone });
};

export const action = (args: ActionFunctionArgs) =>
  portalAction(args, async ({ user, form }) => {
    const intent = form.get("intent");
    if (intent === "create") {
      const name = String(form.get("name") ?? "").trim();
      if (!name || name.length > 60) throw new AppError("VALIDATION_FAILED", "Give the key a name of 1–60 characters.");
      const key = await createApiKey({ orgId: user.orgId, name });
      return { created: { id: key.id, name: key.name, key: key.key } };
    }
    if (intent === "revoke") {
      const revoked = await revokeApiKey({ keyId: String(form.get("keyId") ?? ""), orgId: user.orgId });
      return { revoked: revoked.id };
    }
    throw new AppError("VALIDATION_FAILED", "Unknown action.");
  });

type KeyRow = SerializeFrom<typeof loader>["keys"][number];

export default function Keys() {
  const { keys, timeZone } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const created = result?.ok && "created" in result ? (result.created as { id: string; name: string; key: string }) : null;
  const revoked = result?.ok && "revoked" in result ? keys.find((k) => k.id === result.revoked) : undefined;
  const columns: Column<KeyRow>[] = [
    { header: "Name", cell: (k) => k.name },
    { header: "Key", cell: (k) => <Code>{k.prefix}…</Code> },
    { header: "Created", cell: (k) => formatDateTime(k.createdAt, timeZone) },
    { header: "Last used", cell: (k) => (k.lastUsedAt ? formatDateTime(k.lastUsedAt, timeZone) : "never") },
    { header: "Action", bare: true, cell: (k) => <RevokeKey id={k.id} name={k.name} revoked={Boolean(k.revokedAt)} /> },
  ];
  return (
    <Stack gap="lg">
      <Title order={2}>API keys</Title>
      {result && !result.ok ? (
        <Alert color="red" role="alert">
          {result.error}
        </Alert>
      ) : null}
      {revoked ? <RevokedNotice key={revoked.id} name={revoked.name} /> : null}
      {created ? <NewKey key={created.id} name={created.name} secret={created.key} /> : null}
      <Card withBorder>
        <CreateKeyForm busy={busy} createdId={created?.id} />
      </Card>
      <Card withBorder padding={0}>
        {keys.length === 0 ? (
          <Text c="dimmed" p="lg">
            No keys yet. Create one to call the API.
          </Text>
        ) : (
          <ResponsiveTable caption="API keys" columns={columns} rows={keys} rowKey={(k) => k.id} />
        )}
      </Card>
    </Stack>
  );
}
