// Outbound webhooks: endpoints (URL, event types, a signing secret shown once), a test event,
// and the delivery log with every attempt and a retry button.
import { Alert, Badge, Button, Card, Checkbox, Code, Group, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { json, type ActionFunctionArgs, type LoaderFunctionArgs } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { formatDateTime } from "~/components/format";
import { requireUser } from "~/server/auth/session.server";
import { AppError } from "~/server/platform/errors.server";
import { parseWith } from "~/server/platform/http.server";
import { createEndpoint, deleteEndpoint, endpointInput, listDeliveries, listEndpoints, retryDelivery, sendTestEvent } from "~/server/notify/endpoints.server";
import { SUBSCRIBABLE_TYPES } from "~/server/notify/events.server";
import { getOrg } from "~/server/auth/orgs.server";
import { portalAction } from "~/server/platform/portal-action.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request, { role: "admin" });
  const org = await getOrg(user.orgId);
  const [endpoints, deliveries] = await Promise.all([listEndpoints(user.orgId), listDeliveries(user.orgId, 30)]);
  return json({ endpoints, deliveries, eventTypes: SUBSCRIBABLE_TYPES, timeZone: org.timeZone });
};

export const action = (args: ActionFunctionArgs) =>
  portalAction(args, async ({ user, form }) => {
    const who = { orgId: user.orgId, actor: user.email, requestId: null };
    const id = String(form.get("id") ?? "");
    switch (form.get("intent")) {
      case "create": {
        const input = parseWith(endpointInput, { url: String(form.get("url") ?? ""), eventTypes: form.getAll("eventTypes").map(String) });
        const created = await createEndpoint({ ...input, ...who });
        return { created: { id: created.id, url: created.url, secret: created.secret } };
      }
      case "delete":
        await deleteEndpoint({ ...who, id });
        return { message: "Endpoint deleted." };
      case "test":
        await sendTestEvent({ ...who, id });
        return { message: "Test event sent: it appears in the deliveries below." };
      case "retry":
        await retryDelivery({ ...who, id });
        return { message: "Delivery queued again." };
      default:
        throw new AppError("VALIDATION_FAILED", "Unknown action.");
    }
  });

const statusColor: Record<string, string> = { succeeded: "teal", failed: "red", retrying: "orange", pending: "gray" };

export default function Webhooks() {
  const { endpoints, deliveries, eventTypes, timeZone } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as
    | { ok: boolean; error?: string; message?: string; created?: { id: string; url: string; secret: string } }
    | undefined;
  const busy = useNavigation().state !== "idle";
  return (
    <Stack gap="lg">
      <Title order={2}>Webhooks</Title>
      <Text size="sm" c="dimmed">
        Events are signed per the Standard Webhooks spec (webhook-id, webhook-timestamp, webhook-signature headers); failed deliveries are retried for about
        three days.
      </Text>
      {result && !result.ok ? (
        <Alert color="red" role="alert">
          {result.error}
        </Alert>
      ) : null}
      {result?.ok && result.message ? (
        <Alert color="teal" role="status">
          {result.message}
        </Alert>
      ) : null}
      {result?.ok && result.created ? (
        <Alert color="teal" title="Endpoint added" role="status">
          <Text size="sm">Its signing secret, shown only now:</Text>
          <Code className="break-all" data-testid="signing-secret">
            {result.created.secret}
          </Code>
        </Alert>
      ) : null}
      <Card withBorder>
        <Form method="post">
          <input type="hidden" name="intent" value="create" />
          <Stack gap="sm">
            <TextInput label="Endpoint URL" name="url" type="url" placeholder="https://example.com/webhooks" required />
            <Checkbox.Group label="Events">
              <Group gap="md" mt="xs">
                {eventTypes.map((t) => (
                  <Checkbox key={t} value={t} label={t} name="eventTypes" />
                ))}
              </Group>
            </Checkbox.Group>
            <Group>
              <Button type="submit" loading={busy}>
                Add endpoint
              </Button>
            </Group>
          </Stack>
        </Form>
      </Card>
      <Card withBorder padding={0}>
        <Title order={3} size="h4" p="md">
          Endpoints
        </Title>
        {endpoints.length === 0 ? (
          <Text c="dimmed" px="md" pb="md">
            No endpoints yet.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={600}>
            <Table verticalSpacing="sm" horizontalSpacing="md">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>URL</Table.Th>
                  <Table.Th>Events</Table.Th>
                  <Table.Th>State</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {endpoints.map((e) => (
                  <Table.Tr key={e.id}>
                    <Table.Td className="break-all">{e.url}</Table.Td>
                    <Table.Td>{e.eventTypes.join(", ")}</Table.Td>
                    <Table.Td>
                      {e.enabled ? <Badge color="teal">enabled</Badge> : <Badge color="red">disabled</Badge>}
                      {e.disabledReason ? (
                        <Text size="xs" c="red">
                          {e.disabledReason}
                        </Text>
                      ) : null}
                    </Table.Td>
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        <Form method="post">
                          <input type="hidden" name="intent" value="test" />
                          <input type="hidden" name="id" value={e.id} />
                          <Button type="submit" size="xs" variant="light" aria-label={`Send a test event to ${e.url}`}>
                            Send test
                          </Button>
                        </Form>
                        <Form method="post">
                          <input type="hidden" name="intent" value="delete" />
                          <input type="hidden" name="id" value={e.id} />
                          <Button type="submit" size="xs" color="red" variant="light" aria-label={`Delete ${e.url}`}>
                            Delete
                          </Button>
                        </Form>
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>
      <Card withBorder padding={0}>
        <Title order={3} size="h4" p="md">
          Deliveries
        </Title>
        {deliveries.length === 0 ? (
          <Text c="dimmed" px="md" pb="md">
            No deliveries yet.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={700}>
            <Table verticalSpacing="sm" horizontalSpacing="md" data-testid="deliveries">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Event</Table.Th>
                  <Table.Th>Endpoint</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Attempts</Table.Th>
                  <Table.Th />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {deliveries.map((d) => (
                  <Table.Tr key={d.id}>
                    <Table.Td>
                      <Text size="sm">{d.eventType}</Text>
                      <Text size="xs" c="dimmed">
                        {formatDateTime(d.createdAt, timeZone)}
                      </Text>
                    </Table.Td>
                    <Table.Td className="break-all">{d.url}</Table.Td>
                    <Table.Td>
                      <Badge color={statusColor[d.status] ?? "gray"}>{d.status}</Badge>
                      {d.nextAttemptAt && d.status === "retrying" ? <Text size="xs">next {formatDateTime(d.nextAttemptAt, timeZone)}</Text> : null}
                    </Table.Td>
                    <Table.Td>
                      <details>
                        <summary>{d.attempts}</summary>
                        <ul className="text-xs">
                          {d.log.map((a) => (
                            <li key={a.attempt}>
                              #{a.attempt} {formatDateTime(a.at, timeZone)}: {a.succeeded ? "ok" : "failed"} {a.responseCode ?? ""} in {a.latencyMs} ms
                              {a.error ? ` (${a.error})` : ""}
                              {a.responseBody ? <Code block>{a.responseBody}</Code> : null}
                            </li>
                          ))}
                        </ul>
                      </details>
                    </Table.Td>
                    <Table.Td>
                      <Form method="post">
                        <input type="hidden" name="intent" value="retry" />
                        <input type="hidden" name="id" value={d.id} />
                        <Button type="submit" size="xs" variant="light" aria-label={`Retry delivery of ${d.eventType}`}>
                          Retry
                        </Button>
                      </Form>
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
