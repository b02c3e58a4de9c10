// API keys: create (shown once, with a copy button), list, revoke.
import { Alert, Badge, Button, Card, CopyButton, Group, Code, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { formatDateTime } from "~/components/format";
import { requireUser } from "~/server/auth.server";
import { AppError } from "~/server/errors.server";
import { createApiKey, listApiKeys, revokeApiKey } from "~/server/keys.server";
import { getOrg } from "~/server/orgs.server";
import { portalAction } from "~/server/portal.server";

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

export default function Keys() {
  const { keys, timeZone } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const created = result?.ok && "created" in result ? (result.created as { id: string; name: string; key: string }) : null;
  return (
    <Stack gap="lg">
      <Title order={2}>API keys</Title>
      {result && !result.ok ? (
        <Alert color="red" role="alert">
          {result.error}
        </Alert>
      ) : null}
      {created ? (
        <Alert color="teal" title={`Key "${created.name}" created`} role="status">
          <Text size="sm">Copy it now: it is shown only once and stored only as a hash.</Text>
          <Group className="mt-2" wrap="nowrap">
            <Code className="break-all" data-testid="new-key">
              {created.key}
            </Code>
            <CopyButton value={created.key}>
              {({ copied, copy }) => (
                <Button size="xs" onClick={copy} color={copied ? "teal" : "indigo"}>
                  {copied ? "Copied" : "Copy"}
                </Button>
              )}
            </CopyButton>
          </Group>
        </Alert>
      ) : null}
      <Card withBorder>
        <Form method="post">
          <input type="hidden" name="intent" value="create" />
          <Group align="end">
            <TextInput label="New key name" name="name" placeholder="production server" required maxLength={60} className="grow" />
            <Button type="submit" loading={busy}>
              Create key
            </Button>
          </Group>
        </Form>
      </Card>
      <Card withBorder padding={0}>
        {keys.length === 0 ? (
          <Text c="dimmed" p="lg">
            No keys yet. Create one to call the API.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={600}>
            <Table verticalSpacing="sm" horizontalSpacing="md">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Key</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>Last used</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {keys.map((k) => (
                  <Table.Tr key={k.id}>
                    <Table.Td>{k.name}</Table.Td>
                    <Table.Td>
                      <Code>{k.prefix}…</Code>
                    </Table.Td>
                    <Table.Td>{formatDateTime(k.createdAt, timeZone)}</Table.Td>
                    <Table.Td>{k.lastUsedAt ? formatDateTime(k.lastUsedAt, timeZone) : "never"}</Table.Td>
                    <Table.Td>
                      {k.revokedAt ? (
                        <Badge color="gray">revoked</Badge>
                      ) : (
                        <Form
                          method="post"
                          onSubmit={(e) => {
                            if (!confirm(`Revoke "${k.name}"? Calls with it fail within seconds.`)) e.preventDefault();
                          }}
                        >
                          <input type="hidden" name="intent" value="revoke" />
                          <input type="hidden" name="keyId" value={k.id} />
                          <Button type="submit" size="xs" color="red" variant="light" aria-label={`Revoke ${k.name}`}>
                            Revoke
                          </Button>
                        </Form>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>
    </Stack>
  );
}
