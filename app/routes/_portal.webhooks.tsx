// Outbound webhooks: endpoints (URL, event types, a signing secret shown once), a test event,
// and the delivery log with every attempt and a retry button.
import { Alert, Badge, Button, Card, Checkbox, Code, Group, Stack, Text, TextInput, Title } from "@mantine/core";
import { type ActionFunctionArgs, json, type LoaderFunctionArgs } from "@remix-run/node";
import { Form, useLoaderData, useNavigation } from "@remix-run/react";
import { formatDateTime } from "~/components/format";
import { type Column, ResponsiveTable } from "~/components/responsive-table";
import { ActionOutcome, TableSection, useActionOutcome } from "~/components/section";
import { requireUser } from "~/server/auth/session.server";
import { SUBSCRIBABLE_TYPES } from "~/server/events/outbox.server";
import { portalAction } from "~/server/http/portal-action.server";
import { createEndpoint, deleteEndpoint, endpointInput, listDeliveries, listEndpoints, retryDelivery, sendTestEvent } from "~/server/notify/endpoints.server";
import { getOrg } from "~/server/orgs/orgs.server";
import { AppError, parseWith } from "~/server/platform/errors.server";

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

type Endpoint = ReturnType<typeof useLoaderData<typeof loader>>["endpoints"][number];
type Delivery = ReturnType<typeof useLoaderData<typeof loader>>["deliveries"][number];

function PostButton({ intent, id, label, children, color }: { intent: string; id: string; label: string; children: string; color?: string }) {
  return (
    <Form method="post">
      <input type="hidden" name="intent" value={intent} />
      <input type="hidden" name="id" value={id} />
      <Button type="submit" size="xs" variant="light" color={color} aria-label={label}>
        {children}
      </Button>
    </Form>
  );
}

const endpointColumns: Column<Endpoint>[] = [
  { header: "URL", cell: (e) => <span className="break-all">{e.url}</span> },
  { header: "Events", cell: (e) => e.eventTypes.join(", ") },
  {
    header: "State",
    cell: (e) => (
      <>
        {e.enabled ? <Badge color="teal">enabled</Badge> : <Badge color="red">disabled</Badge>}
        {e.disabledReason ? (
          <Text size="xs" c="red">
            {e.disabledReason}
          </Text>
        ) : null}
      </>
    ),
  },
  {
    header: "Actions",
    bare: true,
    cell: (e) => (
      <Group gap="xs" wrap="nowrap">
        <PostButton intent="test" id={e.id} label={`Send a test event to ${e.url}`}>
          Send test
        </PostButton>
        <PostButton intent="delete" id={e.id} label={`Delete ${e.url}`} color="red">
          Delete
        </PostButton>
      </Group>
    ),
  },
];

const deliveryColumns = (timeZone: string): Column<Delivery>[] => [
  {
    header: "Event",
    cell: (d) => (
      <>
        <Text size="sm">{d.eventType}</Text>
        <Text size="xs" c="dimmed">
          {formatDateTime(d.createdAt, timeZone)}
        </Text>
      </>
    ),
  },
  { header: "Endpoint", cell: (d) => <span className="break-all">{d.url}</span> },
  {
    header: "Status",
    cell: (d) => (
      <>
        <Badge color={statusColor[d.status] ?? "gray"}>{d.status}</Badge>
        {d.nextAttemptAt && d.status === "retrying" ? <Text size="xs">next {formatDateTime(d.nextAttemptAt, timeZone)}</Text> : null}
      </>
    ),
  },
  {
    header: "Attempts",
    cell: (d) => (
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
    ),
  },
  {
    header: "Retry",
    bare: true,
    cell: (d) => (
      <PostButton intent="retry" id={d.id} label={`Retry delivery of ${d.eventType}`}>
        Retry
      </PostButton>
    ),
  },
];

export default function Webhooks() {
  const { endpoints, deliveries, eventTypes, timeZone } = useLoaderData<typeof loader>();
  const result = useActionOutcome<{ created?: { id: string; url: string; secret: string } }>();
  const busy = useNavigation().state !== "idle";
  return (
    <Stack gap="lg">
      <Title order={2}>Webhooks</Title>
      <Text size="sm" c="dimmed">
        Events are signed per the Standard Webhooks spec (webhook-id, webhook-timestamp, webhook-signature headers); failed deliveries are retried for about
        three days.
      </Text>
      <ActionOutcome result={result} />
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
      <TableSection title="Endpoints" isEmpty={endpoints.length === 0} empty="No endpoints yet.">
        <ResponsiveTable caption="Webhook endpoints" columns={endpointColumns} rows={endpoints} rowKey={(e) => e.id} />
      </TableSection>
      <TableSection title="Deliveries" isEmpty={deliveries.length === 0} empty="No deliveries yet." testId="deliveries">
        <ResponsiveTable caption="Webhook deliveries" columns={deliveryColumns(timeZone)} rows={deliveries} rowKey={(d) => d.id} />
      </TableSection>
    </Stack>
  );
}
