// Outbound webhooks: endpoints (URL, event types, a signing secret shown once), a test event,
// and the delivery log with every attempt and a retry button.
import { Button, Card, Code, Group, Stack, Text, Title } from "@mantine/core";
import { type ActionFunctionArgs, json, type LoaderFunctionArgs } from "@remix-run/node";
import { Form, useLoaderData } from "@remix-run/react";
import { useEffect, useRef } from "react";
import { formatDateTime } from "~/components/format";
import { type Column, ResponsiveTable } from "~/components/responsive-table";
import { ActionOutcome, TableSection, useActionOutcome } from "~/components/section";
import { DeleteEndpoint, DeliveryPayload, EndpointForm, SigningSecret, StatusBadge } from "~/components/webhook-parts";
import { MAX_WEBHOOK_URL_LENGTH } from "~/server/api/schemas.server";
import { requireUser } from "~/server/auth/session.server";
import { SUBSCRIBABLE_TYPES } from "~/server/events/outbox.server";
import { portalAction } from "~/server/http/portal-action.server";
import {
  createEndpoint,
  deleteEndpoint,
  deliveryPayloads,
  endpointInput,
  listDeliveries,
  listEndpoints,
  retryDelivery,
  sendTestEvent,
} from "~/server/notify/endpoints.server";
import { getOrg } from "~/server/orgs/orgs.server";
import { AppError, type PlainWords, parseWith } from "~/server/platform/errors.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request, { role: "admin" });
  const org = await getOrg(user.orgId);
  const [endpoints, deliveries] = await Promise.all([listEndpoints(user.orgId), listDeliveries(user.orgId, 30)]);
  const payloads = await deliveryPayloads(
    user.orgId,
    deliveries.map((d) => d.id),
  );
  return json({ endpoints, deliveries, payloads, eventTypes: SUBSCRIBABLE_TYPES, timeZone: org.timeZone });
};

// What a person reads when the form is incomplete or wrong, by field (the schema's own words otherwise).
const ENTER_URL = "Enter the endpoint's URL, for example https://example.com/webhooks.";
const PLAIN: PlainWords = {
  url: (issue) => (issue.code === "too_big" ? `The URL is too long: at most ${MAX_WEBHOOK_URL_LENGTH.toLocaleString("en-US")} characters.` : ENTER_URL),
  eventTypes: "Pick at least one event to send.",
};

/** The endpoint form's input, or a plain sentence per missing or wrong field. */
const endpointOf = (form: FormData) =>
  parseWith(endpointInput, { url: String(form.get("url") ?? ""), eventTypes: form.getAll("eventTypes").map(String) }, PLAIN);

export const action = (args: ActionFunctionArgs) =>
  portalAction(args, async ({ user, form }) => {
    const who = { orgId: user.orgId, actor: user.email, requestId: null };
    const id = String(form.get("id") ?? "");
    switch (form.get("intent")) {
      case "create": {
        const input = endpointOf(form);
        if (!input.url) throw new AppError("VALIDATION_FAILED", ENTER_URL, { issues: [{ path: "url", message: "required" }] });
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

type Endpoint = ReturnType<typeof useLoaderData<typeof loader>>["endpoints"][number];
type Delivery = ReturnType<typeof useLoaderData<typeof loader>>["deliveries"][number];

function PostButton({ intent, id, label, children }: { intent: string; id: string; label: string; children: string }) {
  return (
    <Form method="post">
      <input type="hidden" name="intent" value={intent} />
      <input type="hidden" name="id" value={id} />
      <Button type="submit" size="xs" variant="light" aria-label={label}>
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
        <StatusBadge status={e.enabled ? "enabled" : "disabled"} />
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
        <DeleteEndpoint id={e.id} url={e.url} />
      </Group>
    ),
  },
];

const deliveryColumns = (timeZone: string, payloads: Record<string, string>): Column<Delivery>[] => [
  {
    header: "Event",
    cell: (d) => (
      <>
        <Text size="sm">{d.eventType}</Text>
        <Text size="xs" c="dimmed">
          {formatDateTime(d.createdAt, timeZone)}
        </Text>
        <DeliveryPayload payload={payloads[d.id]} />
      </>
    ),
  },
  { header: "Endpoint", cell: (d) => <span className="break-all">{d.url}</span> },
  {
    header: "Status",
    cell: (d) => (
      <>
        <StatusBadge status={d.status} />
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
  const { endpoints, deliveries, payloads, eventTypes, timeZone } = useLoaderData<typeof loader>();
  const result = useActionOutcome<{ created?: { id: string; url: string; secret: string } }>();
  // Focus follows the outcome (a deleted endpoint's button is gone; a failed form says why).
  const outcome = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (result && !result.created) outcome.current?.focus();
  }, [result]);
  return (
    <Stack gap="lg">
      <Title order={1} size="h2">
        Webhooks
      </Title>
      <Text size="sm" c="dimmed">
        Events are signed per the Standard Webhooks spec (webhook-id, webhook-timestamp, webhook-signature headers); failed deliveries are retried for about
        three days.
      </Text>
      <div ref={outcome} tabIndex={-1} className="outline-none empty:hidden">
        <ActionOutcome result={result} />
      </div>
      {result?.ok && result.created ? <SigningSecret secret={result.created.secret} /> : null}
      <Card withBorder>
        <EndpointForm eventTypes={eventTypes} createdId={result?.ok ? result.created?.id : undefined} />
      </Card>
      <TableSection title="Endpoints" isEmpty={endpoints.length === 0} empty="No endpoints yet.">
        <ResponsiveTable caption="Webhook endpoints" columns={endpointColumns} rows={endpoints} rowKey={(e) => e.id} />
      </TableSection>
      <TableSection title="Deliveries" isEmpty={deliveries.length === 0} empty="No deliveries yet." testId="deliveries">
        <ResponsiveTable caption="Webhook deliveries" columns={deliveryColumns(timeZone, payloads)} rows={deliveries} rowKey={(d) => d.id} />
      </TableSection>
    </Stack>
  );
}
