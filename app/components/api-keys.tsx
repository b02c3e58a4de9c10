// The API keys page's parts: the form that creates a key, the new key shown once with Copy,
// and the revoke button. Focus moves to the new key's Copy button as soon as it appears, so a
// second Enter cannot create a duplicate and Copy is one Tab-stop away, not twelve.
import { Alert, Badge, Button, Code, Group, NativeSelect, Text, TextInput } from "@mantine/core";
import { Form } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import { useCopy } from "./copy-button";

type Limit = { limit: number; windowSeconds: number };

export const WINDOWS = [
  { value: "1", label: "per second" },
  { value: "60", label: "per minute" },
  { value: "3600", label: "per hour" },
  { value: "86400", label: "per day" },
];

/**
 * A key's rate limit as form fields: the org's default, none, or one custom limit (the API takes
 * up to five; the page edits the first and keeps the rest). `idPrefix` keeps labels unique.
 */
export function RateLimitFields({ idPrefix, current, allowDefault = true }: { idPrefix: string; current?: Limit[] | null; allowDefault?: boolean }) {
  const initial = current === undefined || current === null ? (allowDefault ? "default" : "none") : current.length === 0 ? "none" : "custom";
  const [mode, setMode] = useState(initial);
  const first = current?.[0];
  const modes = [
    ...(allowDefault ? [{ value: "default", label: "The organisation's default" }] : []),
    { value: "none", label: "No limit" },
    { value: "custom", label: "A limit of its own" },
  ];
  return (
    <Group align="end" wrap="wrap">
      <NativeSelect id={`${idPrefix}-mode`} label="Rate limit" name="limitMode" data={modes} value={mode} onChange={(e) => setMode(e.currentTarget.value)} />
      <TextInput
        id={`${idPrefix}-limit`}
        label="Requests allowed"
        name="limit"
        type="number"
        min={1}
        max={1_000_000}
        step={1}
        defaultValue={first ? String(first.limit) : ""}
        disabled={mode !== "custom"}
        required={mode === "custom"}
      />
      <NativeSelect
        id={`${idPrefix}-window`}
        label="Window"
        name="windowSeconds"
        data={WINDOWS}
        defaultValue={first ? String(first.windowSeconds) : "1"}
        disabled={mode !== "custom"}
      />
    </Group>
  );
}

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
      <details className="mt-2">
        <summary>Rate limit and expiry (optional)</summary>
        <Group align="end" wrap="wrap" className="mt-2">
          <RateLimitFields idPrefix="create" />
          <TextInput id="create-expires" label="Expires on (UTC)" name="expiresOn" type="date" />
        </Group>
      </details>
    </Form>
  );
}

export function NewKey({ name, secret, rolledUntil }: { name: string; secret: string; rolledUntil?: string }) {
  const copyButton = useRef<HTMLButtonElement>(null);
  const { copied, copy } = useCopy(secret);
  useEffect(() => copyButton.current?.focus(), []);
  return (
    <Alert color="teal" title={rolledUntil ? `Key "${name}" rolled` : `Key "${name}" created`}>
      <Text size="sm">Copy it now: it is shown only once and stored only as a hash.</Text>
      {rolledUntil ? <Text size="sm">The old secret keeps working until {rolledUntil}.</Text> : null}
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

type ManagedKey = { id: string; name: string; rateLimits: Limit[] | null; expiresAt: string | null };

/** Rename a key, change its rate limit or expiry, or roll its secret: one key at a time, chosen first. */
export function ManageKey({ keys, busy }: { keys: ManagedKey[]; busy: boolean }) {
  const [chosen, setChosen] = useState(keys[0]?.id ?? "");
  const key = keys.find((k) => k.id === chosen) ?? keys[0];
  if (!key) return <Text c="dimmed">No active keys to change.</Text>;
  return (
    <div>
      <NativeSelect
        id="manage-key"
        label="Key to change"
        value={key.id}
        onChange={(e) => setChosen(e.currentTarget.value)}
        data={keys.map((k) => ({ value: k.id, label: k.name }))}
        className="max-w-sm"
      />
      {/* Keyed by the key: choosing another one starts its forms from its own values. */}
      <Form method="post" key={`edit-${key.id}`} className="mt-3">
        <input type="hidden" name="intent" value="update" />
        <input type="hidden" name="keyId" value={key.id} />
        <Group align="end" wrap="wrap">
          <TextInput id="edit-name" label="Name" name="name" defaultValue={key.name} required maxLength={60} />
          <RateLimitFields idPrefix="edit" current={key.rateLimits} />
          <TextInput
            id="edit-expires"
            label="Expires on (UTC; empty: never)"
            name="expiresOn"
            type="date"
            defaultValue={key.expiresAt ? key.expiresAt.slice(0, 10) : ""}
          />
          <Button type="submit" loading={busy}>
            Save changes
          </Button>
        </Group>
      </Form>
      <Form
        method="post"
        key={`roll-${key.id}`}
        className="mt-3"
        onSubmit={(e) => {
          if (!confirm(`Roll "${key.name}"? A new secret is shown once; the old one stops after the grace period.`)) e.preventDefault();
        }}
      >
        <input type="hidden" name="intent" value="roll" />
        <input type="hidden" name="keyId" value={key.id} />
        <Group align="end" wrap="wrap">
          <NativeSelect
            id="roll-grace"
            label="Old secret keeps working for"
            name="gracePeriodSeconds"
            defaultValue="86400"
            data={[
              { value: "0", label: "No time: it stops now" },
              { value: "3600", label: "1 hour" },
              { value: "86400", label: "24 hours" },
              { value: "604800", label: "7 days" },
            ]}
          />
          <Button type="submit" variant="light" loading={busy}>
            Roll secret
          </Button>
        </Group>
      </Form>
    </div>
  );
}

/** The org's default limit: what holds every key that has no limit of its own. */
export function DefaultLimitForm({ current, busy }: { current: Limit[] | null; busy: boolean }) {
  return (
    <Form method="post" key={JSON.stringify(current)}>
      <input type="hidden" name="intent" value="default-limits" />
      <Group align="end" wrap="wrap">
        <RateLimitFields idPrefix="default" current={current} allowDefault={false} />
        <Button type="submit" loading={busy}>
          Save default
        </Button>
      </Group>
    </Form>
  );
}

/** After a save, focus lands on what happened, announced, instead of staying on a button. */
export function SavedNotice({ message }: { message: string }) {
  const notice = useRef<HTMLDivElement>(null);
  useEffect(() => notice.current?.focus(), []);
  return (
    <Alert ref={notice} tabIndex={-1} color="teal" role="status">
      {message}
    </Alert>
  );
}
