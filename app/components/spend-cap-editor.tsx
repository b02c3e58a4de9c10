// The billing page's "Overage and spend cap" card: the cap in force (default or chosen), the
// overage charged so far this period, a form to change the cap (intent "spend-cap", the same
// server code as PUT /api/v1/billing/spend-cap, audit-logged), and the auto top-ups the org set.
import { Alert, Button, Card, Checkbox, Group, Stack, Text, TextInput, Title } from "@mantine/core";
import { useFetcher } from "@remix-run/react";
import { useState } from "react";
import { formatMoney, formatNumber } from "~/components/format";

export type SpendCapView = { amountCents: number | null; chosen: boolean; overageCents: number; currency: string };
export type AutoTopUpView = { metric: string; below: number; packs: number; enabled: boolean; packUnits: number; packPriceCents: number };

export function SpendCapEditor({ cap, autoTopUps }: { cap: SpendCapView; autoTopUps: AutoTopUpView[] }) {
  const [noCap, setNoCap] = useState(cap.amountCents === null);
  // Its own fetcher: the refusal shows under the field, the page reloads the figures on success.
  const fetcher = useFetcher<{ ok: boolean; error?: string; message?: string }>();
  const error = fetcher.state === "idle" && fetcher.data && !fetcher.data.ok ? fetcher.data.error : undefined;
  const saved = fetcher.state === "idle" && fetcher.data?.ok ? fetcher.data.message : undefined;
  const money = (cents: number) => formatMoney(cents, cap.currency);
  return (
    <Card withBorder aria-label="Overage and spend cap" data-testid="spend-cap">
      <Stack gap="sm">
        <Title order={2} size="h4">
          Overage and spend cap
        </Title>
        <Text size="sm" data-testid="spend-cap-now">
          Overage so far this period: <strong>{money(cap.overageCents)}</strong>
          {cap.amountCents === null ? " · no cap" : ` of a ${money(cap.amountCents)} cap`}
          {cap.chosen ? "" : " (the default: your plan's monthly price)"}
        </Text>
        <fetcher.Form method="post" aria-label="Spend cap">
          <input type="hidden" name="intent" value="spend-cap" />
          <Stack gap="xs">
            <TextInput
              label="Monthly overage cap ($)"
              description="Usage past the included units and credits is refused once its overage would go over this. Applies from the next request."
              name="amount"
              inputMode="decimal"
              disabled={noCap}
              defaultValue={cap.amountCents === null ? "" : (cap.amountCents / 100).toFixed(2)}
              error={error}
            />
            <Checkbox name="noCap" label="No cap: bill all overage" checked={noCap} onChange={(e) => setNoCap(e.currentTarget.checked)} />
            <Group>
              <Button type="submit" variant="light" loading={fetcher.state !== "idle"}>
                Save spend cap
              </Button>
            </Group>
            {saved ? (
              <Alert color="teal" role="status">
                {saved}
              </Alert>
            ) : null}
          </Stack>
        </fetcher.Form>
        <div>
          <Text fw={600} size="sm">
            Automatic top-up
          </Text>
          {autoTopUps.length === 0 ? (
            <Text size="sm" c="dimmed">
              Off: no automatic top-up is set.
            </Text>
          ) : (
            <ul className="m-0 pl-5 text-sm" data-testid="auto-top-ups">
              {autoTopUps.map((a) => (
                <li key={a.metric}>
                  {a.metric}: {a.enabled ? "on" : "off"} · when fewer than {formatNumber(a.below)} credits remain, buy {a.packs} pack
                  {a.packs === 1 ? "" : "s"} of {formatNumber(a.packUnits)} ({money(a.packs * a.packPriceCents)})
                </li>
              ))}
            </ul>
          )}
        </div>
      </Stack>
    </Card>
  );
}
