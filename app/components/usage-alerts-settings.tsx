// The settings page's "Usage alerts" section: per metered feature, the percents of the included
// units that send an alert (default 80% and 100%), "credits below N" and "overage above $X". Each
// feature is its own form (intent "alerts"), saved through the same server code as
// PUT /api/v1/alerts; the page's outcome line shows what was saved or refused.
import { Button, Card, Group, Stack, Text, TextInput, Title } from "@mantine/core";
import { Form } from "@remix-run/react";

export type UsageAlertView = { metric: string; percents: number[]; creditsBelow: number | null; overageAboveCents: number | null; custom: boolean };

const dollars = (cents: number | null) => (cents === null ? "" : (cents / 100).toFixed(2));

export function UsageAlertsSettings({ alerts, busy }: { alerts: UsageAlertView[]; busy: boolean }) {
  return (
    <Card withBorder data-testid="usage-alerts">
      <Stack gap="md">
        <div>
          <Title order={3}>Usage alerts</Title>
          <Text size="sm" c="dimmed">
            Each alert is sent once per billing period, by email and to the webhooks subscribed to its event.
          </Text>
        </div>
        {alerts.map((alert) => (
          <Form method="post" key={alert.metric} aria-label={`Alerts of ${alert.metric}`}>
            <input type="hidden" name="intent" value="alerts" />
            <input type="hidden" name="metric" value={alert.metric} />
            <Stack gap="xs">
              <Text fw={600}>
                {alert.metric}
                {alert.custom ? "" : " (defaults)"}
              </Text>
              <TextInput
                label={`Percents of the included ${alert.metric} units`}
                description="A list, like 50, 80, 100 (up to 10, each 1 to 1000). Empty: no percent alerts. Default: 80, 100."
                name="percents"
                defaultValue={alert.percents.join(", ")}
              />
              <TextInput
                label="When prepaid credits fall below"
                description="Units. Empty: no alert."
                name="creditsBelow"
                inputMode="numeric"
                defaultValue={alert.creditsBelow === null ? "" : String(alert.creditsBelow)}
              />
              <TextInput
                label="When this period's overage goes above ($)"
                description="Dollars, like 25.00. Empty: no alert."
                name="overageAbove"
                inputMode="decimal"
                defaultValue={dollars(alert.overageAboveCents)}
              />
              <Group>
                <Button type="submit" variant="light" loading={busy}>
                  Save {alert.metric} alerts
                </Button>
              </Group>
            </Stack>
          </Form>
        ))}
      </Stack>
    </Card>
  );
}
