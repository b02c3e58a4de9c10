// The API keys page's parts: the form that creates a key, the new key shown once with Copy,
// and the revoke button. Focus moves to the new key's Copy button as soon as it appears, so a
// second Enter cannot create a duplicate and Copy is one Tab-stop away, not twelve.
import { Alert, Badge, Button, Code, Group, Text, TextInput } from "@mantine/core";
import { Form } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";

export function CreateKeyForm({ busy, createdId }: { busy: boolean; createdId?: string }) {
  const form = useRef<HTMLFormElement>(null);
  // A created key empties the field: submitting again needs a new name on purpose.
  useEffect(() => {
    if (createdId) form.current?.reset();
  }, [createdId]);
  return (
    <Form method="post" ref={form}>
      <input type="hidden" name="intent" value="create" />
      <Group align="end">
        <TextInput label="New key name" name="name" placeholder="production server" required maxLength={60} className="grow" />
        <Button type="submit" loading={busy}>
          Create key
        </Button>
      </Group>
    </Form>
  );
}

export function NewKey({ name, secret }: { name: string; secret: string }) {
  const copyButton = useRef<HTMLButtonElement>(null);
  const [copied, setCopied] = useState<"copied" | "failed" | null>(null);
  useEffect(() => copyButton.current?.focus(), []);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(null), 5000);
    return () => clearTimeout(t);
  }, [copied]);
  const copy = () =>
    navigator.clipboard.writeText(secret).then(
      () => setCopied("copied"),
      () => setCopied("failed"),
    );
  return (
    <Alert color="teal" title={`Key "${name}" created`}>
      <Text size="sm">Copy it now: it is shown only once and stored only as a hash.</Text>
      <Group className="mt-2" wrap="wrap" gap="sm">
        <Code className="min-w-0 max-w-full break-all" data-testid="new-key">
          {secret}
        </Code>
        <Button ref={copyButton} size="xs" onClick={copy} aria-describedby="new-key-copy-status">
          {copied === "copied" ? "Copied" : "Copy key"}
        </Button>
        <Text size="sm" id="new-key-copy-status" role="status" aria-live="polite">
          {copied === "copied" ? "Copied to the clipboard." : copied === "failed" ? "Could not copy: select the key and copy it by hand." : ""}
        </Text>
      </Group>
    </Alert>
  );
}

export function RevokeKey({ id, name, revoked }: { id: string; name: string; revoked: boolean }) {
  if (revoked) return <Badge color="gray">revoked</Badge>;
  return (
    <Form
      method="post"
      onSubmit={(e) => {
        if (!confirm(`Revoke "${name}"? Calls with it fail within seconds.`)) e.preventDefault();
      }}
    >
      <input type="hidden" name="intent" value="revoke" />
      <input type="hidden" name="keyId" value={id} />
      <Button type="submit" size="xs" color="red" variant="light" aria-label={`Revoke ${name}`}>
        Revoke
      </Button>
    </Form>
  );
}

/** After a revoke the button is gone: focus lands on this notice instead of falling to <body>. */
export function RevokedNotice({ name }: { name: string }) {
  const notice = useRef<HTMLDivElement>(null);
  useEffect(() => notice.current?.focus(), []);
  return (
    <Alert ref={notice} tabIndex={-1} color="gray" role="status">
      Key "{name}" revoked: calls with it are refused within seconds.
    </Alert>
  );
}
