// API keys: create (shown once, with a copy button), list, revoke.
import { Alert, Card, Code, Stack, Text, Title } from "@mantine/core";
import { type ActionFunctionArgs, json, type LoaderFunctionArgs, type SerializeFrom } from "@remix-run/node";
import { useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { formatDistance } from "date-fns";
import { CreateKeyForm, NewKey, RevokedNotice, RevokeKey } from "~/components/api-keys";
import { formatDateTime } from "~/components/format";
import { unitsOf } from "~/components/plan-terms";
import { type Column, ResponsiveTable } from "~/components/responsive-table";
import { createApiKey, listApiKeys, revokeApiKey } from "~/server/auth/keys.server";
import { requireUser } from "~/server/auth/session.server";
import { currentEntitlements } from "~/server/billing/usage-meters.server";
import { portalAction } from "~/server/http/portal-action.server";
import { getOrg } from "~/server/orgs/orgs.server";
import { AppError } from "~/server/platform/errors.server";
import { usageByKeySince } from "~/server/usage/history.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request, { role: "admin" });
  const org = await getOrg(user.orgId);
  // Each key's usage this period (none without a live subscription), in the units of the plan's features.
  const entitlements = await currentEntitlements(user.orgId);
  const usage = entitlements ? await usageByKeySince(user.orgId, entitlements.period.start) : {};
  const units = Object.fromEntries((entitlements?.features ?? []).flatMap((f) => (f.type === "metered" ? [[f.feature, f.unit]] : [])));
  return json({ keys: await listApiKeys(user.orgId), timeZone: org.timeZone, usage, units, now: Date.now() });
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
  const { keys, timeZone, usage, units, now } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const created = result?.ok && "created" in result ? (result.created as { id: string; name: string; key: string }) : null;
  const revoked = result?.ok && "revoked" in result ? keys.find((k) => k.id === result.revoked) : undefined;
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

/** "1,200 calls · 3,400 tokens", or "none" for a key without usage this period. */
function usageOfKey(byMetric: Record<string, number> | undefined, units: Record<string, string>): string {
  const parts = Object.entries(byMetric ?? {})
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([metric, n]) => unitsOf(n, units[metric] ?? metric));
  return parts.length > 0 ? parts.join(" · ") : "none";
}
