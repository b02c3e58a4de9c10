// API keys: create (shown once, with a copy button; with rate limits and an expiry), list,
// revoke; rename, change the limits or expiry, roll (the new secret shown once); the org's default limits.
import { Alert, Card, Code, Stack, Text, Title } from "@mantine/core";
import { type ActionFunctionArgs, json, type LoaderFunctionArgs, type SerializeFrom } from "@remix-run/node";
import { useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { formatDistance } from "date-fns";
import { CreateKeyForm, DefaultLimitForm, ManageKey, NewKey, RevokedNotice, RevokeKey, SavedNotice } from "~/components/api-keys";
import { formatDateTime } from "~/components/format";
import { unitsOf } from "~/components/plan-terms";
import { type Column, ResponsiveTable } from "~/components/responsive-table";
import { wholeNumberOf } from "~/server/api/form-fields.server";
import { keyNameBody, RATE_LIMIT_BOUNDS } from "~/server/api/schemas.server";
import { DEFAULT_ROLL_GRACE_SECONDS, defaultKeyRateLimits, rollApiKey, setDefaultKeyRateLimits, updateApiKey } from "~/server/auth/key-settings.server";
import { createApiKey, listApiKeys, revokeApiKey } from "~/server/auth/keys.server";
import { requireUser } from "~/server/auth/session.server";
import { currentEntitlements } from "~/server/billing/usage-meters.server";
import { portalAction } from "~/server/http/portal-action.server";
import { rateLimitsFromForm } from "~/server/http/rate-limit-form.server";
import { getOrg } from "~/server/orgs/orgs.server";
import { AppError, parseWith } from "~/server/platform/errors.server";
import { usageByKeySince } from "~/server/usage/history.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request, { role: "admin" });
  const org = await getOrg(user.orgId);
  // Each key's usage this period (none without a live subscription), in the units of the plan's features.
  const [keys, defaultLimits, entitlements] = await Promise.all([listApiKeys(user.orgId), defaultKeyRateLimits(user.orgId), currentEntitlements(user.orgId)]);
  const usage = entitlements ? await usageByKeySince(user.orgId, entitlements.period.start) : {};
  const units = Object.fromEntries((entitlements?.features ?? []).flatMap((f) => (f.type === "metered" ? [[f.feature, f.unit]] : [])));
  // The forms offer as many limit rows as the API takes.
  return json({ keys, defaultLimits, timeZone: org.timeZone, usage, units, now: Date.now(), maxLimits: RATE_LIMIT_BOUNDS.maxEntries });
};

const invalid = (message: string) => new AppError("VALIDATION_FAILED", message);

/** An expiry date field (YYYY-MM-DD, UTC): null when empty; the key stops at the start of that day. */
function expiryOf(form: FormData) {
  const day = String(form.get("expiresOn") ?? "").trim();
  if (!day) return null;
  const later = "Pick an expiry date after today (UTC), or leave it empty.";
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw invalid(later);
  const at = new Date(`${day}T00:00:00Z`);
  // Date moves a day past the month's end into the next month (02-31 is 03-03): a day the calendar has not is refused, not moved.
  if (Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== day) throw invalid(`There is no ${day} on the calendar: pick another expiry date.`);
  if (at.getTime() <= Date.now()) throw invalid(later);
  return at;
}

/** The roll form's choices of how long the old secret keeps working, in seconds. */
const GRACE_CHOICES = [0, 3600, 86_400, 604_800];

/** The roll's grace: one of the page's choices; left blank it is the default, as the API's is, never 0 (the old secret stopping at once). */
function graceOf(form: FormData) {
  const text = String(form.get("gracePeriodSeconds") ?? "").trim();
  const grace = text === "" ? DEFAULT_ROLL_GRACE_SECONDS : wholeNumberOf(text);
  if (!GRACE_CHOICES.includes(grace)) throw invalid("Choose how long the old secret keeps working.");
  return grace;
}

/** The key's name by the API's rule (createKeyBody's `name`: 1–60 characters, no control or direction-override characters). */
function nameOf(form: FormData) {
  return parseWith(keyNameBody, { name: String(form.get("name") ?? "") }, { name: "Give the key a name of 1–60 characters, without control characters." }).name;
}

export const action = (args: ActionFunctionArgs) =>
  portalAction(args, async ({ user, form }) => {
    const intent = form.get("intent");
    if (intent === "create") {
      const key = await createApiKey({ orgId: user.orgId, name: nameOf(form), rateLimits: rateLimitsFromForm(form), expiresAt: expiryOf(form) });
      return { created: { id: key.id, name: key.name, key: key.key } };
    }
    if (intent === "update") {
      const keyId = String(form.get("keyId") ?? "");
      const before = (await listApiKeys(user.orgId)).find((k) => k.id === keyId);
      // An unchanged expiry date is left as it is (even one already past).
      const day = String(form.get("expiresOn") ?? "").trim();
      const expiry = before?.expiresAt && day === before.expiresAt.slice(0, 10) ? {} : { expiresAt: expiryOf(form) };
      const key = await updateApiKey({ orgId: user.orgId, keyId, changes: { name: nameOf(form), rateLimits: rateLimitsFromForm(form), ...expiry } });
      return { message: `Key "${key.name}" saved.` };
    }
    if (intent === "roll") {
      const key = await rollApiKey({ orgId: user.orgId, keyId: String(form.get("keyId") ?? ""), graceSeconds: graceOf(form) });
      return { rolled: { id: key.id, name: key.name, key: key.key, until: key.previousSecretValidUntil } };
    }
    if (intent === "default-limits") {
      const limits = rateLimitsFromForm(form);
      await setDefaultKeyRateLimits({ orgId: user.orgId, rateLimits: limits && limits.length > 0 ? limits : null });
      return { message: "Default rate limits saved." };
    }
    if (intent === "revoke") {
      const revoked = await revokeApiKey({ keyId: String(form.get("keyId") ?? ""), orgId: user.orgId });
      return { revoked: revoked.id };
    }
    throw new AppError("VALIDATION_FAILED", "Unknown action.");
  });

type KeyRow = SerializeFrom<typeof loader>["keys"][number];

export default function Keys() {
  const { keys, defaultLimits, timeZone, usage, units, now, maxLimits } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const created = result?.ok && "created" in result ? (result.created as { id: string; name: string; key: string }) : null;
  const revoked = result?.ok && "revoked" in result ? keys.find((k) => k.id === result.revoked) : undefined;
  const rolled = result?.ok && "rolled" in result ? (result.rolled as { id: string; name: string; key: string; until: string | null }) : null;
  const saved = result?.ok && typeof result.message === "string" ? result.message : null;
  const active = keys.filter((k) => !k.revokedAt);
  const columns: Column<KeyRow>[] = [
    { header: "Name", cell: (k) => k.name },
    { header: "Key", cell: (k) => <Code>{k.prefix}…</Code> },
    { header: "Created", cell: (k) => formatDateTime(k.createdAt, timeZone) },
    { header: "Usage this period", cell: (k) => usageOfKey(usage[k.id], units) },
    {
      header: "Last used",
      // Relative to the loader's clock, so the server's and the browser's renders agree.
      cell: (k) =>
        k.lastUsedAt ? (
          <time dateTime={k.lastUsedAt} title={formatDateTime(k.lastUsedAt, timeZone)}>
            {formatDistance(k.lastUsedAt, now, { addSuffix: true })}
          </time>
        ) : (
          "never"
        ),
    },
    { header: "Action", bare: true, cell: (k) => <RevokeKey id={k.id} name={k.name} revoked={Boolean(k.revokedAt)} /> },
  ];
  return (
    <Stack gap="lg">
      <Title order={1} size="h2">
        API keys
      </Title>
      {result && !result.ok ? (
        <Alert color="red" role="alert">
          {result.error}
        </Alert>
      ) : null}
      {revoked ? <RevokedNotice key={revoked.id} name={revoked.name} /> : null}
      {created ? <NewKey key={created.id} name={created.name} secret={created.key} /> : null}
      {rolled ? (
        <NewKey
          key={rolled.key}
          name={rolled.name}
          secret={rolled.key}
          rolledUntil={rolled.until ? formatDateTime(rolled.until, timeZone) : "now (it no longer works)"}
        />
      ) : null}
      {saved ? <SavedNotice message={saved} result={result} /> : null}
      <Card withBorder>
        <CreateKeyForm busy={busy} createdId={created?.id} maxLimits={maxLimits} />
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
      <Card withBorder>
        <Stack gap="sm">
          <Title order={2} size="h3">
            Change a key
          </Title>
          <Text size="sm" c="dimmed">
            A rate limit caps the quota checks and usage records a key makes in a window; a key may have up to {maxLimits}, and a call must fit in every one.
            Over one, calls get 429 RATE_LIMITED and nothing is counted. An expired key is refused like a revoked one.
          </Text>
          <ManageKey keys={active} busy={busy} maxLimits={maxLimits} />
        </Stack>
      </Card>
      <Card withBorder>
        <Stack gap="sm">
          <Title order={2} size="h3">
            Default rate limits
          </Title>
          <Text size="sm" c="dimmed">
            Holds every key whose rate limit is "The organisation's default".
          </Text>
          <DefaultLimitForm current={defaultLimits} busy={busy} maxLimits={maxLimits} />
        </Stack>
      </Card>
    </Stack>
  );
}

/** "1,200 calls · 3,400 tokens", or "none" for a key without usage this period. */
function usageOfKey(byMetric: Record<string, number> | undefined, units: Record<string, string>): string {
  const parts = Object.entries(byMetric ?? {})
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([metric, n]) => unitsOf(n, units[metric] ?? metric));
  return parts.length > 0 ? parts.join(" · ") : "none";
}
