// Org settings: the time zone (the dashboard's daily chart and the emails use it), the billing
// email, which notification emails the org gets, its usage alerts, and the org's audit log.
import { Button, Card, Checkbox, Group, Stack, TextInput, Title } from "@mantine/core";
import { type ActionFunctionArgs, json, type LoaderFunctionArgs } from "@remix-run/node";
import { Form, useLoaderData, useNavigation } from "@remix-run/react";
import { auditSentenceColumns } from "~/components/audit-sentences";
import { ResponsiveTable } from "~/components/responsive-table";
import { ActionOutcome, TableSection, useActionOutcome } from "~/components/section";
import { TimeZonePicker } from "~/components/time-zone-picker";
import { UsageAlertsSettings } from "~/components/usage-alerts-settings";
import { listApiKeys } from "~/server/auth/keys.server";
import { requireUser } from "~/server/auth/session.server";
import { listAudit } from "~/server/events/audit.server";
import { portalAction } from "~/server/http/portal-action.server";
import { setUsageAlert, usageAlertFromForm, usageAlertsOf } from "~/server/notify/alerts.server";
import { EMAIL_TYPES } from "~/server/notify/email.server";
import { orgSettingsOf, settingsInput, updateOrgSettings } from "~/server/orgs/settings.server";
import { parseWith } from "~/server/platform/errors.server";

const EMAIL_LABELS: Record<string, string> = {
  "usage.threshold_reached": "Usage at the alert percents of the quota (default 80% and 100%)",
  "credits.low": "Prepaid credits below your alert",
  "overage.threshold_reached": "Overage above your alert",
  "spend_cap.reached": "Overage spend cap reached",
  "auto_top_up.failed": "An automatic top-up failed (and was turned off)",
  "subscription.trial_will_end": "Trial ending",
  "invoice.payment_failed": "Payment failed",
  "subscription.updated": "Plan changed",
  "webhook_endpoint.disabled": "A webhook endpoint disabled after failing for days",
};

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request, { role: "admin" });
  const [settings, audit, keys, alerts] = await Promise.all([
    orgSettingsOf(user.orgId),
    listAudit({ orgId: user.orgId, limit: 50 }),
    listApiKeys(user.orgId),
    usageAlertsOf(user.orgId),
  ]);
  // The audit log names keys by id: their names make its sentences ("Revoked API key 'ci runner'").
  const names = Object.fromEntries(keys.map((k) => [k.id, k.name]));
  return json({ settings, audit, names, alerts, emailTypes: EMAIL_TYPES, timeZones: Intl.supportedValuesOf("timeZone") });
};

export const action = (args: ActionFunctionArgs) =>
  portalAction(args, async ({ user, form }) => {
    if (form.get("intent") === "alerts") {
      const input = usageAlertFromForm(form);
      await setUsageAlert(user.orgId, input);
      return { message: `Alerts of ${input.metric} saved.` };
    }
    const wanted = new Set(form.getAll("emails").map(String));
    const input = parseWith(settingsInput, {
      timeZone: String(form.get("timeZone") ?? ""),
      billingEmail: String(form.get("billingEmail") ?? ""),
      mutedEmails: EMAIL_TYPES.filter((t) => !wanted.has(t)),
    });
    await updateOrgSettings({ ...input, orgId: user.orgId, actor: user.email, requestId: null });
    return { message: "Settings saved." };
  });

export default function Settings() {
  const { settings, audit, names, alerts, emailTypes, timeZones } = useLoaderData<typeof loader>();
  const result = useActionOutcome();
  const busy = useNavigation().state !== "idle";
  const zones = timeZones.includes(settings.timeZone) ? timeZones : [settings.timeZone, ...timeZones];
  return (
    <Stack gap="lg">
      <Title order={1} size="h2">
        Settings
      </Title>
      <ActionOutcome result={result} />
      <Card withBorder>
        <Form method="post">
          <Stack gap="md">
            <TimeZonePicker zones={zones} value={settings.timeZone} description="The dashboard's daily chart and the emails use it." />
            <TextInput
              label="Billing email"
              description={`Where notification emails go. Empty: the owner's email${settings.ownerEmail ? ` (${settings.ownerEmail})` : ""}.`}
              name="billingEmail"
              type="email"
              defaultValue={settings.customBillingEmail ?? ""}
            />
            <Checkbox.Group label="Emails" defaultValue={emailTypes.filter((t) => !settings.mutedEmails.includes(t))}>
              <Stack gap="xs" mt="xs">
                {emailTypes.map((t) => (
                  <Checkbox key={t} value={t} name="emails" label={EMAIL_LABELS[t] ?? t} />
                ))}
              </Stack>
            </Checkbox.Group>
            <Group>
              <Button type="submit" loading={busy}>
                Save settings
              </Button>
            </Group>
          </Stack>
        </Form>
      </Card>
      <UsageAlertsSettings alerts={alerts} busy={busy} />
      <TableSection title="Audit log" isEmpty={audit.length === 0} empty="Nothing recorded yet." testId="audit-log">
        <ResponsiveTable caption="Audit log" columns={auditSentenceColumns(settings.timeZone, names)} rows={audit} rowKey={(a) => String(a.id)} />
      </TableSection>
    </Stack>
  );
}
