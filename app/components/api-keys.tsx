// The API keys page's parts: the form that creates a key, the new key shown once with Copy,
// and the revoke button. Focus moves to the new key's Copy button as soon as it appears, so a
// second Enter cannot create a duplicate and Copy is one Tab-stop away, not twelve.
import { Alert, Badge, Button, Code, Group, NativeSelect, Stack, Text, TextInput } from "@mantine/core";
import { Form } from "@remix-run/react";
import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { useCopy } from "./copy-button";
import { formatNumber } from "./format";

type Limit = { limit: number; windowSeconds: number };

const WINDOWS = [
  { value: "1", label: "per second" },
  { value: "10", label: "per 10 seconds" },
  { value: "60", label: "per minute" },
  { value: "900", label: "per 15 minutes" },
  { value: "3600", label: "per hour" },
  { value: "86400", label: "per day" },
];

/** The common windows, and a row's own window when it is another (the API takes any length). */
const windowsFor = (windowSeconds: string) =>
  WINDOWS.some((w) => w.value === windowSeconds)
    ? WINDOWS
    : [...WINDOWS, { value: windowSeconds, label: `per ${formatNumber(Number(windowSeconds))} seconds` }];

type Row = { id: number; limit: string; windowSeconds: string };
const noSubscription = () => () => {};
const blankRow = (id: number): Row => ({ id, limit: "", windowSeconds: "1" });

/**
 * A key's rate limits as form fields: the org's default, none, or limits of its own, one row
 * each (a count and a window). Without JavaScript the rows are the current limits and one spare
 * (a row left empty is ignored; clearing a count removes that limit); with it, rows are added and
 * removed in place, up to `max`. `idPrefix` keeps the ids unique on the page; the form is keyed
 * by the limits, so a save starts it again from what was stored.
 */
export function RateLimitFields({
  idPrefix,
  current,
  max,
  allowDefault = true,
}: {
  idPrefix: string;
  current?: Limit[] | null;
  max: number;
  allowDefault?: boolean;
}) {
  const initial = current === undefined || current === null ? (allowDefault ? "default" : "none") : current.length === 0 ? "none" : "custom";
  const [mode, setMode] = useState(initial);
  // The add and remove buttons need JavaScript: the server's page (and so the hydration) has
  // none of them, and a spare row in their place, which goes once they are there.
  const enhanced = useSyncExternalStore(
    noSubscription,
    () => true,
    () => false,
  );
  const [rows, setRows] = useState<Row[]>(() => {
    const own = (current ?? []).map((l, i) => ({ id: i, limit: String(l.limit), windowSeconds: String(l.windowSeconds) }));
    return own.length === 0 || (own.length < max && !enhanced) ? [...own, blankRow(own.length)] : own;
  });
  useEffect(() => {
    if (enhanced) setRows((r) => (r.length > 1 && r[r.length - 1].limit === "" ? r.slice(0, -1) : r));
  }, [enhanced]);
  // After an add, focus goes to the new row's count; after a removal (its button is gone) to
  // "Add a limit", which is always there then.
  const addButton = useRef<HTMLButtonElement>(null);
  const focusNext = useRef<"added" | "removed" | null>(null);
  useEffect(() => {
    if (focusNext.current === "added") document.getElementById(`${idPrefix}-limit-${rows.length}`)?.focus();
    if (focusNext.current === "removed") addButton.current?.focus();
    focusNext.current = null;
  }, [rows, idPrefix]);
  const add = () => {
    focusNext.current = "added";
    setRows([...rows, blankRow(Math.max(...rows.map((r) => r.id)) + 1)]);
  };
  const remove = (id: number) => {
    focusNext.current = "removed";
    setRows(rows.filter((r) => r.id !== id));
  };
  const modes = [
    ...(allowDefault ? [{ value: "default", label: "The organisation's default" }] : []),
    { value: "none", label: allowDefault ? "No limit" : "No default limit" },
    { value: "custom", label: allowDefault ? "Limits of its own" : "Limits" },
  ];
  return (
    <Stack gap="xs">
      <NativeSelect
        id={`${idPrefix}-mode`}
        label="Rate limit"
        description="A call must fit in every limit; a row left empty is ignored."
        name="limitMode"
        data={modes}
        value={mode}
        onChange={(e) => setMode(e.currentTarget.value)}
        className="max-w-xs"
      />
      {/* Disabled rows are not posted: the server reads rows only for limits of the key's own anyway. */}
      <fieldset disabled={enhanced && mode !== "custom"} className="m-0 min-w-0 border-0 p-0">
        <legend className="sr-only">Limits</legend>
        <Stack gap="xs">
          {rows.map((row, i) => (
            <Group key={row.id} align="end" wrap="wrap" gap="xs" role="group" aria-labelledby={`${idPrefix}-row-${i + 1}`}>
              <Text size="sm" fw={500} id={`${idPrefix}-row-${i + 1}`} className="w-16 pb-2">
                Limit {i + 1}
              </Text>
              <TextInput
                id={`${idPrefix}-limit-${i + 1}`}
                label="Requests allowed"
                name="limit"
                type="number"
                min={1}
                step={1}
                defaultValue={row.limit}
                required={enhanced && mode === "custom" && rows.length === 1}
              />
              <NativeSelect
                id={`${idPrefix}-window-${i + 1}`}
                label="Window"
                name="windowSeconds"
                data={windowsFor(row.windowSeconds)}
                defaultValue={row.windowSeconds}
              />
              {enhanced && rows.length > 1 ? (
                <Button type="button" variant="subtle" color="red" onClick={() => remove(row.id)} aria-label={`Remove limit ${i + 1}`}>
                  Remove
                </Button>
              ) : null}
            </Group>
          ))}
          {enhanced && rows.length < max ? (
            <Group>
              <Button ref={addButton} type="button" variant="light" size="xs" onClick={add}>
                Add a limit
              </Button>
            </Group>
          ) : null}
        </Stack>
      </fieldset>
    </Stack>
  );
}

export function CreateKeyForm({ busy, createdId, maxLimits }: { busy: boolean; createdId?: string; maxLimits: number }) {
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
        <summary>Rate limits and expiry (optional)</summary>
        <Stack gap="sm" className="mt-2">
          {/* Keyed by the key created: its rows start over with the emptied form. */}
          <RateLimitFields key={createdId} idPrefix="create" max={maxLimits} />
          <TextInput id="create-expires" label="Expires on (UTC)" name="expiresOn" type="date" className="max-w-xs" />
        </Stack>
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
export function ManageKey({ keys, busy, maxLimits }: { keys: ManagedKey[]; busy: boolean; maxLimits: number }) {
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
      {/* Keyed by the key and its limits: choosing another one, or saving, starts the form from the stored values. */}
      <Form method="post" key={`edit-${key.id}-${JSON.stringify(key.rateLimits)}`} className="mt-3">
        <input type="hidden" name="intent" value="update" />
        <input type="hidden" name="keyId" value={key.id} />
        <Stack gap="sm">
          <Group align="end" wrap="wrap">
            <TextInput id="edit-name" label="Name" name="name" defaultValue={key.name} required maxLength={60} />
            <TextInput
              id="edit-expires"
              label="Expires on (UTC; empty: never)"
              name="expiresOn"
              type="date"
              defaultValue={key.expiresAt ? key.expiresAt.slice(0, 10) : ""}
            />
          </Group>
          <RateLimitFields idPrefix="edit" current={key.rateLimits} max={maxLimits} />
          <Group>
            <Button type="submit" loading={busy}>
              Save changes
            </Button>
          </Group>
        </Stack>
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

/** The org's default limits: what holds every key that has no limits of its own. */
export function DefaultLimitForm({ current, busy, maxLimits }: { current: Limit[] | null; busy: boolean; maxLimits: number }) {
  return (
    <Form method="post" key={JSON.stringify(current)}>
      <input type="hidden" name="intent" value="default-limits" />
      <Stack gap="sm">
        <RateLimitFields idPrefix="default" current={current} max={maxLimits} allowDefault={false} />
        <Group>
          <Button type="submit" loading={busy}>
            Save default
          </Button>
        </Group>
      </Stack>
    </Form>
  );
}

/**
 * After a save, focus lands on what happened, announced, instead of staying on a button; again
 * after a second save with the same message (`result` is each post's own answer).
 */
export function SavedNotice({ message, result }: { message: string; result: unknown }) {
  const notice = useRef<HTMLDivElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: each answer, not only a new message, moves the focus.
  useEffect(() => notice.current?.focus(), [result]);
  return (
    <Alert ref={notice} tabIndex={-1} color="teal" role="status">
      {message}
    </Alert>
  );
}
