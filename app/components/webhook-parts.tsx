// The webhooks page's parts: the form that adds an endpoint (emptied after it succeeds), the new
// endpoint's signing secret with Copy, Delete behind a confirmation, a delivery's request body,
// and a status badge that is never cut short.
import { Alert, Badge, Button, Checkbox, Code, Group, Modal, Stack, Text, TextInput } from "@mantine/core";
import { Form, useNavigation } from "@remix-run/react";
import { useState } from "react";
import { CopyButton } from "./copy-button";

export function EndpointForm({ eventTypes, createdId }: { eventTypes: readonly string[]; createdId?: string }) {
  const nav = useNavigation();
  const busy = nav.state !== "idle" && nav.formData?.get("intent") === "create";
  // A new key per created endpoint remounts the form: the URL and the ticked events start empty.
  return (
    <Form method="post" key={createdId ?? "new"}>
      <input type="hidden" name="intent" value="create" />
      <Stack gap="sm">
        <TextInput label="Endpoint URL" name="url" type="url" placeholder="https://example.com/webhooks" required />
        <Checkbox.Group label="Events" description="Pick at least one.">
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
  );
}

export function SigningSecret({ secret }: { secret: string }) {
  return (
    <Alert color="teal" title="Endpoint added" role="status">
      <Text size="sm">Its signing secret, shown only now: copy it into your receiver's configuration.</Text>
      <Group className="mt-2" gap="sm" wrap="wrap">
        <Code className="min-w-0 max-w-full break-all" data-testid="signing-secret">
          {secret}
        </Code>
        <CopyButton text={secret} label="Copy signing secret" />
      </Group>
    </Alert>
  );
}

/** Delete, confirmed in a dialog; the page then moves focus to its outcome. */
export function DeleteEndpoint({ id, url }: { id: string; url: string }) {
  const [open, setOpen] = useState(false);
  const nav = useNavigation();
  const deleting = nav.state !== "idle" && nav.formData?.get("intent") === "delete" && nav.formData?.get("id") === id;
  return (
    <>
      <Button size="xs" variant="light" color="red" aria-label={`Delete ${url}`} onClick={() => setOpen(true)}>
        Delete
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title="Delete this endpoint?" centered closeButtonProps={{ "aria-label": "Close" }}>
        <Text size="sm" className="break-all">
          Events stop going to {url} at once, including retries of failed deliveries. Its delivery log stays below.
        </Text>
        <Form method="post">
          <input type="hidden" name="intent" value="delete" />
          <input type="hidden" name="id" value={id} />
          <Group justify="flex-end" className="mt-4">
            <Button variant="default" onClick={() => setOpen(false)} data-autofocus>
              Keep it
            </Button>
            <Button type="submit" color="red" loading={deleting}>
              Delete endpoint
            </Button>
          </Group>
        </Form>
      </Modal>
    </>
  );
}

/** The JSON a delivery sends (the body its signature covers), indented to read. */
export function DeliveryPayload({ payload }: { payload: string | undefined }) {
  if (!payload) return null;
  let shown = payload;
  try {
    shown = JSON.stringify(JSON.parse(payload), null, 2);
  } catch {
    // Shown as sent.
  }
  return (
    <details className="mt-1">
      <summary className="cursor-pointer text-sm">Request body</summary>
      {/* Focusable: a long body scrolls, and the keyboard must reach it. */}
      <Code block className="mt-1 max-h-64 overflow-auto text-xs" data-testid="delivery-payload" tabIndex={0} aria-label="Request body">
        {shown}
      </Code>
    </details>
  );
}

const statusColor: Record<string, string> = { succeeded: "teal", failed: "red", retrying: "orange", pending: "gray", enabled: "teal", disabled: "red" };

/** A status badge at its full width: Mantine's badge cuts a long word with an ellipsis in a narrow cell. */
export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={statusColor[status] ?? "gray"} styles={{ root: { maxWidth: "none", overflow: "visible" }, label: { overflow: "visible" } }}>
      {status}
    </Badge>
  );
}
