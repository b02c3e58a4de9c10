// Billing: the current plan, plan cards with the previewed cost before any change is confirmed,
// the pending downgrade with cancel, Checkout for an org without a plan, the Stripe portal.
import { Alert, Badge, Button, Card, Group, Modal, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { json, type ActionFunctionArgs, redirect, type LoaderFunctionArgs } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigate, useNavigation, useSearchParams } from "@remix-run/react";
import { formatDate, formatMoney, formatNumber } from "~/components/format";
import { requireUser } from "~/server/auth.server";
import { openPortal, startCheckout } from "~/server/billing/billing.server";
import { cancelDowngrade, previewPlanChange, scheduleDowngrade, upgradeNow, type PlanChangePreview } from "~/server/billing/plan-change.server";
import { AppError } from "~/server/errors.server";
import { getOrg, subscriptionSummary } from "~/server/orgs.server";
import { listPlans, planByCode, type PlanCode } from "~/server/plans.server";
import { portalAction } from "~/server/portal.server";

const LIVE = ["active", "trialing", "past_due"];

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request, { role: "admin" });
  const org = await getOrg(user.orgId);
  return json({ subscription: await subscriptionSummary(user.orgId), plans: listPlans(), timeZone: org.timeZone });
};

const planOf = (form: FormData) => {
  const code = String(form.get("planCode") ?? "");
  if (!planByCode(code)) throw new AppError("VALIDATION_FAILED", "Pick one of the plans.");
  return code as PlanCode;
};

export const action = (args: ActionFunctionArgs) =>
  portalAction(args, async ({ user, form }) => {
    switch (form.get("intent")) {
      case "checkout":
        return redirect((await startCheckout(user.orgId, planOf(form))).url);
      case "portal":
        return redirect((await openPortal(user.orgId)).url);
      case "preview":
        return { preview: await previewPlanChange(user.orgId, planOf(form)) };
      case "upgrade":
        await upgradeNow(user.orgId, planOf(form), String(form.get("idempotencyKey") ?? "") || null);
        return { message: "Upgraded: your new quota applies now." };
      case "downgrade":
        await scheduleDowngrade(user.orgId, planOf(form));
        return { message: "Downgrade scheduled for the end of the period." };
      case "cancel-downgrade":
        await cancelDowngrade(user.orgId);
        return { message: "Scheduled downgrade canceled: you keep your current plan." };
      default:
        throw new AppError("VALIDATION_FAILED", "Unknown action.");
    }
  });

export default function Billing() {
  const { subscription, plans, timeZone } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as { ok: boolean; error?: string; message?: string; preview?: PlanChangePreview } | undefined;
  const [params] = useSearchParams();
  const nav = useNavigation();
  const navigate = useNavigate();
  const closePreview = () => navigate("/billing", { replace: true });
  const busy = nav.state !== "idle";
  const live = Boolean(subscription && LIVE.includes(subscription.status));
  const preview = result?.ok ? result.preview : undefined;
  const target = preview ? plans.find((p) => p.code === preview.to) : undefined;
  return (
    <Stack gap="lg">
      <Group justify="space-between">
        <Title order={2}>Billing</Title>
        {subscription ? (
          <Form method="post">
            <input type="hidden" name="intent" value="portal" />
            <Button type="submit" variant="light" loading={busy && nav.formData?.get("intent") === "portal"}>
              Payment method & invoices in Stripe
            </Button>
          </Form>
        ) : null}
      </Group>
      {result && !result.ok ? (
        <Alert color="red" role="alert">
          {result.error}
        </Alert>
      ) : null}
      {result?.ok && result.message ? (
        <Alert color="teal" role="status">
          {result.message}
        </Alert>
      ) : null}
      {params.get("checkout") === "canceled" ? <Alert color="gray">Checkout was canceled; nothing was charged.</Alert> : null}

      {subscription ? (
        <Card withBorder>
          <Group justify="space-between">
            <div>
              <Text size="sm" c="dimmed">
                Current plan
              </Text>
              <Text size="xl" fw={700}>
                {plans.find((p) => p.code === subscription.planCode)?.name ?? subscription.planCode}
              </Text>
            </div>
            <Badge size="lg" color={live ? "teal" : "red"}>
              {subscription.status.replace("_", " ")}
            </Badge>
          </Group>
          <Text size="sm" c="dimmed" className="mt-2">
            Current period {formatDate(subscription.periodStart, timeZone)} – {formatDate(subscription.periodEnd, timeZone)}
            {subscription.cancelAtPeriodEnd ? " · cancels at period end" : ""}
          </Text>
          {subscription.pendingPlanCode ? (
            <Alert color="blue" className="mt-3" title="Downgrade scheduled">
              <Group justify="space-between">
                <Text size="sm">
                  You move to {plans.find((p) => p.code === subscription.pendingPlanCode)?.name} on {formatDate(subscription.periodEnd, timeZone)}.
                </Text>
                <Form method="post">
                  <input type="hidden" name="intent" value="cancel-downgrade" />
                  <Button type="submit" size="xs" variant="white">
                    Keep my current plan
                  </Button>
                </Form>
              </Group>
            </Alert>
          ) : null}
        </Card>
      ) : null}

      <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }}>
        {plans.map((p) => {
          const current = live && subscription?.planCode === p.code;
          return (
            <Card key={p.code} withBorder padding="lg" aria-label={`${p.name} plan`} className={current ? "ring-2 ring-indigo-500" : ""}>
              <Group justify="space-between">
                <Title order={4}>{p.name}</Title>
                {current ? <Badge>current</Badge> : p.trialDays ? <Badge color="teal">{p.trialDays} days free</Badge> : null}
              </Group>
              <Text size="lg" fw={700} className="mt-2">
                {p.trialDays ? "Free trial" : `${formatMoney(p.priceMonthly, p.currency)} / month`}
              </Text>
              <Text size="sm">{formatNumber(p.includedUnits.api_call ?? 0)} API calls included</Text>
              {!live ? (
                <Form method="post" className="mt-4">
                  <input type="hidden" name="intent" value="checkout" />
                  <input type="hidden" name="planCode" value={p.code} />
                  <Button type="submit" fullWidth loading={busy}>
                    {p.trialDays ? "Start free trial" : `Subscribe to ${p.name}`}
                  </Button>
                </Form>
              ) : !current && !p.trialDays ? (
                <Form method="post" className="mt-4">
                  <input type="hidden" name="intent" value="preview" />
                  <input type="hidden" name="planCode" value={p.code} />
                  <Button type="submit" fullWidth variant="light" loading={busy && nav.formData?.get("planCode") === p.code}>
                    Change to {p.name}
                  </Button>
                </Form>
              ) : null}
            </Card>
          );
        })}
      </SimpleGrid>

      <Modal
        opened={Boolean(preview)}
        onClose={closePreview}
        title={preview ? `${preview.change === "upgrade" ? "Upgrade" : "Downgrade"} to ${target?.name}` : ""}
        centered
      >
        {preview ? (
          <Stack>
            {preview.change === "upgrade" ? (
              <Text>
                You pay <strong data-testid="amount-due">{formatMoney(preview.amountDueNow, preview.currency)}</strong> now, and get{" "}
                {formatNumber(preview.includedUnits)} API calls at once. Then {formatMoney(preview.nextInvoiceAmount, preview.currency)} a month from{" "}
                {formatDate(preview.nextInvoiceAt, timeZone)}.
              </Text>
            ) : (
              <Text>
                Nothing is charged now. From {formatDate(preview.nextInvoiceAt, timeZone)} you pay {formatMoney(preview.nextInvoiceAmount, preview.currency)} a
                month for {formatNumber(preview.includedUnits)} API calls.
              </Text>
            )}
            {preview.lines.length ? (
              <Table>
                <Table.Tbody>
                  {preview.lines.map((l) => (
                    <Table.Tr key={`${l.description}:${l.amount}`}>
                      <Table.Td>{l.description}</Table.Td>
                      <Table.Td className="text-right">{formatMoney(l.amount, preview.currency)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            ) : null}
            <Form method="post">
              <input type="hidden" name="intent" value={preview.change === "upgrade" ? "upgrade" : "downgrade"} />
              <input type="hidden" name="planCode" value={preview.to} />
              <input type="hidden" name="idempotencyKey" value={`${preview.to}-${preview.amountDueNow}-${preview.nextInvoiceAt}`} />
              <Group justify="flex-end">
                <Button variant="default" onClick={closePreview}>
                  Not now
                </Button>
                <Button type="submit" loading={busy && ["upgrade", "downgrade"].includes(String(nav.formData?.get("intent")))}>
                  {preview.change === "upgrade" ? `Pay ${formatMoney(preview.amountDueNow, preview.currency)} and upgrade` : "Schedule downgrade"}
                </Button>
              </Group>
            </Form>
          </Stack>
        ) : null}
      </Modal>
    </Stack>
  );
}
