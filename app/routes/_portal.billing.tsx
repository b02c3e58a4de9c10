// Billing: the current plan, a monthly/yearly switch, plan cards with the catalog's features and
// the previewed cost and feature changes before any change is confirmed, the pending downgrade
// with cancel, Checkout for an org without a plan, the Stripe portal, the org's prepaid credits,
// its overage so far with the spend cap (editable) and its auto top-ups.
import { Alert, Badge, Button, Card, Group, Loader, SegmentedControl, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { type ActionFunctionArgs, json, type LoaderFunctionArgs, redirect } from "@remix-run/node";
import { Form, Link, useLoaderData, useSearchParams } from "@remix-run/react";
import { useEffect, useState } from "react";
import { formatDate, formatMoney, formatNumber } from "~/components/format";
import { type BillingInterval, PlanChangeDialog, StripeSlow, usePlanChange } from "~/components/plan-change-dialog";
import { allowancesOf, featureChanges, pendingPlanLabel, planTerms, yearlySaving } from "~/components/plan-terms";
import { useActionOutcome } from "~/components/section";
import { SpendCapEditor } from "~/components/spend-cap-editor";
import { StripeButton } from "~/components/stripe-button";
import { SubscriptionEnding } from "~/components/subscription-ending";
import { wholeNumberOf } from "~/server/api/form-fields.server";
import { upgradeBody } from "~/server/api/schemas.server";
import { requireUser } from "~/server/auth/session.server";
import { keepSubscription } from "~/server/billing/cancellation.server";
import { openPortal, startCheckout } from "~/server/billing/checkout.server";
import { creditsOf } from "~/server/billing/credit-grants.server";
import { subscriptionOverview } from "~/server/billing/overview.server";
import { cancelDowngrade, previewPlanChange, scheduleDowngrade, upgradeNow } from "~/server/billing/plan-change.server";
import { activeCatalog, listPlans, type PlanCode, planByCode, refreshCatalog } from "~/server/billing/plans.server";
import { autoTopUpSettingsOf, setSpendCap, spendCapFromForm, spendCapOf } from "~/server/billing/spend-cap.server";
import { listPacks } from "~/server/billing/top-ups.server";
import { currentEntitlements } from "~/server/billing/usage-meters.server";
import { portalAction } from "~/server/http/portal-action.server";
import { getOrg } from "~/server/orgs/orgs.server";
import { AppError, validationIssues } from "~/server/platform/errors.server";
import { isLive, statusColor, statusLabel } from "~/subscription-status";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request, { role: "admin" });
  const org = await getOrg(user.orgId);
  const { subscription, usage } = await subscriptionOverview(user.orgId);
  await refreshCatalog(); // the plans on offer, and their features, are the current catalog version's
  // What the org has now (its plan version): the "from" side of a plan change's feature changes.
  const entitled = subscription && isLive(subscription.status) ? await currentEntitlements(user.orgId) : null;
  const [credits, packs, spendCap, autoTopUps] = await Promise.all([
    creditsOf(user.orgId),
    listPacks(),
    spendCapOf(user.orgId),
    autoTopUpSettingsOf(user.orgId),
  ]);
  return json({
    subscription,
    usage,
    credits,
    spendCap,
    autoTopUps,
    packs: packs.map((p) => p.metric),
    plans: listPlans(),
    features: activeCatalog().catalog.features,
    current: entitled?.features ?? null,
    // The switch starts on how the org is billed now.
    interval: entitled?.plan.interval ?? "month",
    timeZone: org.timeZone,
  });
};

const planOf = (form: FormData) => {
  const code = String(form.get("planCode") ?? "");
  if (!planByCode(code)) throw new AppError("VALIDATION_FAILED", "Pick one of the plans.");
  return code as PlanCode;
};

/** The form's `interval` (the billing page's monthly/yearly switch): `month`, `year`, or none (keep the current one). */
const intervalOf = (form: FormData) => {
  const interval = form.get("interval");
  if (interval === null || interval === "") return undefined;
  if (interval !== "month" && interval !== "year") throw new AppError("VALIDATION_FAILED", "Pick monthly or yearly billing.");
  return interval;
};

/**
 * The upgrade's fields by the API's own rules (upgradeBody): the plan, the interval, and the
 * preview's prorationDate, whole Unix seconds (Stripe refuses any other), or none.
 */
const upgradeOf = (form: FormData) => {
  const planCode = planOf(form);
  const interval = intervalOf(form);
  const date = String(form.get("prorationDate") ?? "").trim();
  const parsed = upgradeBody.safeParse({ planCode, interval, prorationDate: date === "" ? undefined : wholeNumberOf(date) });
  if (!parsed.success)
    throw new AppError("VALIDATION_FAILED", "This preview cannot be confirmed: preview the change again.", { issues: validationIssues(parsed.error) });
  return parsed.data;
};

export const action = (args: ActionFunctionArgs) =>
  portalAction(args, async ({ user, form }) => {
    const intent = form.get("intent");
    switch (intent) {
      case "checkout":
        return redirect((await startCheckout(user.orgId, planOf(form), intervalOf(form))).url);
      case "portal":
        return redirect((await openPortal(user.orgId)).url);
      case "preview":
        return { preview: await previewPlanChange(user.orgId, planOf(form), intervalOf(form)) };
      case "upgrade":
        try {
          const { planCode, interval, prorationDate } = upgradeOf(form);
          await upgradeNow(user.orgId, planCode, {
            idempotencyKey: String(form.get("idempotencyKey") ?? "") || null,
            prorationDate: prorationDate ?? null,
            interval,
          });
        } catch (err) {
          // A stale preview: show the fresh one, so the person confirms the amount they will pay.
          if (err instanceof AppError && err.code === "PREVIEW_EXPIRED")
            return {
              preview: await previewPlanChange(user.orgId, planOf(form), intervalOf(form)),
              notice: "The price was updated: please confirm the new amount.",
            };
          throw err;
        }
        return { message: "Upgraded: your new quota applies now." };
      case "downgrade":
        await scheduleDowngrade(user.orgId, planOf(form), intervalOf(form));
        return { message: "Downgrade scheduled for the end of the period." };
      case "spend-cap": {
        const amountCents = spendCapFromForm(form);
        await setSpendCap(user.orgId, amountCents);
        return { message: amountCents === null ? "Spend cap removed: all overage is billed." : "Spend cap saved." };
      }
      case "cancel-downgrade":
        await cancelDowngrade(user.orgId);
        return { message: "Scheduled downgrade canceled: you keep your current plan." };
      case "keep-subscription": {
        const { subscription, wasCanceling } = await keepSubscription(user.orgId);
        const renews = formatDate(subscription.periodEnd, (await getOrg(user.orgId)).timeZone);
        return {
          message: wasCanceling
            ? `Your plan is no longer set to cancel: it renews on ${renews}.`
            : `Your plan was not set to cancel, so there was nothing to keep: it renews on ${renews}.`,
        };
      }
      default:
        throw new AppError("VALIDATION_FAILED", "Unknown action.");
    }
  });

export default function Billing() {
  const { subscription, usage, credits, spendCap, autoTopUps, packs, plans, features, current, interval: billedNow, timeZone } = useLoaderData<typeof loader>();
  const [interval, setBillingInterval] = useState<BillingInterval>(billedNow);
  const result = useActionOutcome();
  const [params] = useSearchParams();
  const change = usePlanChange();
  const live = Boolean(subscription && isLive(subscription.status));
  const planName = (code: string) => plans.find((p) => p.code === code)?.name ?? code;
  // The page's forms (checkout, portal, keep plan) and the plan-change dialog both report here: the newer wins.
  const [latest, setLatest] = useState<"form" | "dialog">("form");
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when a form's result arrives
  useEffect(() => {
    setLatest("form");
    // The form's button may be gone with the change (Keep my current plan, Keep my plan): focus
    // goes to the outcome, which says what happened, instead of being lost on the page.
    if (result) change.outcome.current?.focus();
  }, [result]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the dialog's result arrives
  useEffect(() => setLatest("dialog"), [change.result]);
  const outcome = latest === "dialog" ? (change.result ?? result) : (result ?? change.result);
  // A trial is for an org that never had a plan: paying customers are not offered it.
  const offered = plans.filter((p) => !(p.trialDays && subscription));
  // An ended subscription is offered again as the plan it was (a trial's as the plan it renews as).
  const ended = subscription ? plans.find((p) => p.code === subscription.planCode) : undefined;
  const resubscribeTo = ended ? (ended.trialDays ? ended.billedAs : ended.code) : null;
  const yearly = offered.some((p) => p.priceYearly !== null);
  // What moving to a plan changes, against what the org has now (its own plan version's terms).
  const have = current ? allowancesOf(current) : null;
  const changesTo = (code: string) => {
    const to = plans.find((p) => p.code === code);
    return have && to ? featureChanges(features, have, to.features) : [];
  };
  return (
    <Stack gap="lg">
      <Group justify="space-between">
        <Title order={1} size="h2">
          Billing
        </Title>
        {subscription ? (
          <div>
            <StripeButton fields={{ intent: "portal" }} waitingFor="The Stripe billing portal" variant="light">
              Payment method & invoices in Stripe
            </StripeButton>
          </div>
        ) : null}
      </Group>
      <div ref={change.outcome} tabIndex={-1} className="outline-none empty:hidden">
        {outcome && !outcome.ok ? (
          <Alert color="red" role="alert">
            {outcome.error}
            {change.result && !change.result.ok ? (
              <>
                {" "}
                Nothing was charged.{" "}
                <Button size="xs" variant="white" onClick={change.retry}>
                  Retry
                </Button>
              </>
            ) : null}
          </Alert>
        ) : null}
        {outcome?.ok && outcome.message ? (
          <Alert color="teal" role="status">
            {outcome.message}
          </Alert>
        ) : null}
        {change.stalled && !change.dialog ? <StripeSlow onRetry={change.retry} paying={false} /> : null}
      </div>
      {params.get("checkout") === "canceled" ? <Alert color="gray">Checkout was canceled; nothing was charged.</Alert> : null}

      {subscription ? (
        <Card withBorder>
          <Group justify="space-between">
            <div>
              <Text size="sm" c="dimmed">
                Current plan
              </Text>
              <Text size="xl" fw={700}>
                {planName(subscription.planCode)}
              </Text>
            </div>
            <Badge size="lg" color={statusColor(subscription.status)}>
              {statusLabel(subscription.status)}
            </Badge>
          </Group>
          <Text size="sm" c="dimmed" className="mt-2">
            Current period {formatDate(subscription.periodStart, timeZone)} – {formatDate(subscription.periodEnd, timeZone)}
          </Text>
          <SubscriptionEnding subscription={subscription} planName={planName} resubscribeTo={resubscribeTo} timeZone={timeZone} />
          {subscription.pendingPlanCode ? (
            <Alert color="blue" className="mt-3" title="Downgrade scheduled">
              <Group justify="space-between">
                <Text size="sm">
                  You move to {pendingPlanLabel(subscription, planName(subscription.pendingPlanCode))} on {formatDate(subscription.periodEnd, timeZone)}.
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

      {subscription ? <SpendCapEditor cap={spendCap} autoTopUps={autoTopUps} /> : null}

      {credits.length > 0 || packs.length > 0 ? (
        <Card withBorder aria-label="Credits">
          <Group justify="space-between">
            <Title order={2} size="h4">
              Credits
            </Title>
            {packs.length > 0 ? (
              <Button component={Link} to={`/billing/top-ups?metric=${encodeURIComponent(packs[0])}`} variant="light" size="xs">
                Buy credits
              </Button>
            ) : null}
          </Group>
          {credits.length === 0 ? (
            <Text size="sm" c="dimmed" className="mt-2">
              No credits. Prepaid credits are used after your plan's included units, carry over, and expire 12 months after purchase.
            </Text>
          ) : (
            <Stack gap="xs" className="mt-2">
              {credits.map((c) => (
                <div key={c.metric} data-testid={`credits-${c.metric}`}>
                  <Text fw={600}>
                    {c.metric}: {formatNumber(c.remaining)} remaining
                  </Text>
                  <ul className="m-0 pl-5 text-sm">
                    {c.grants.map((g) => (
                      <li key={g.id}>
                        {formatNumber(g.remaining)} of {formatNumber(g.units)} · expires {formatDate(g.expiresAt, timeZone)}
                      </li>
                    ))}
                  </ul>
                </div>
              ))}
            </Stack>
          )}
        </Card>
      ) : null}

      {yearly ? (
        <Group justify="space-between" align="center">
          <Title order={2} size="h4">
            Plans
          </Title>
          <SegmentedControl
            aria-label="Billing interval"
            value={interval}
            onChange={(v) => setBillingInterval(v === "year" ? "year" : "month")}
            data={[
              { value: "month", label: "Monthly" },
              { value: "year", label: "Yearly" },
            ]}
          />
        </Group>
      ) : null}
      <SimpleGrid cols={{ base: 1, sm: 2, md: offered.length }}>
        {offered.map((p) => {
          const renewsAs = p.trialDays ? plans.find((q) => q.code === p.billedAs) : undefined;
          // A trial (and a plan without a yearly price) is billed monthly whatever the switch says.
          const billed: BillingInterval = interval === "year" && p.priceYearly !== null ? "year" : "month";
          const ownPlan = live && subscription?.planCode === p.code;
          // The org's plan at the other interval is a change too (monthly → yearly, or back).
          const current = ownPlan && billed === billedNow;
          const saving = billed === "year" ? yearlySaving(p) : null;
          return (
            <Card key={p.code} withBorder padding="lg" aria-label={`${p.name} plan`} className={current ? "ring-2 ring-indigo-500" : ""}>
              <Group justify="space-between">
                <Title order={3} size="h4">
                  {p.name}
                </Title>
                {current ? <Badge>current</Badge> : p.trialDays ? <Badge color="teal">{p.trialDays} days free</Badge> : null}
              </Group>
              <Text size="lg" fw={700} className="mt-2" data-testid={`price-${p.code}`}>
                {p.trialDays
                  ? "Free trial"
                  : billed === "year" && p.priceYearly !== null
                    ? `${formatMoney(p.priceYearly, p.currency)} / year`
                    : `${formatMoney(p.priceMonthly, p.currency)} / month`}
              </Text>
              {saving?.text ? (
                <Text size="sm" fw={600} c="teal.9" data-testid={`saving-${p.code}`}>
                  {saving.text}
                </Text>
              ) : interval === "year" && !p.trialDays && billed === "month" ? (
                <Text size="sm" c="dimmed">
                  Monthly billing only
                </Text>
              ) : null}
              {renewsAs ? (
                <Text size="sm">
                  then {renewsAs.name} at {formatMoney(renewsAs.priceMonthly, renewsAs.currency)}/month
                </Text>
              ) : null}
              <dl className="mt-3 mb-0 grid grid-cols-[1fr_auto] gap-x-3 gap-y-1 text-sm">
                {planTerms(features, p.features).map((t) => (
                  <div key={t.feature} className="contents">
                    <dt>{t.label}</dt>
                    <dd className="m-0 text-right font-medium">{t.value}</dd>
                  </div>
                ))}
              </dl>
              {!live ? (
                <div className="mt-4">
                  <StripeButton fields={{ intent: "checkout", planCode: p.code, interval: billed }} waitingFor="Checkout" fullWidth>
                    {p.trialDays ? "Start free trial" : `Subscribe to ${p.name}`}
                  </StripeButton>
                </div>
              ) : !current && !p.trialDays ? (
                <Button
                  className="mt-4"
                  fullWidth
                  variant="light"
                  data-plan-button={p.code}
                  disabled={change.busy && change.pendingPlan !== p.code}
                  aria-disabled={change.busy || undefined}
                  rightSection={change.pendingPlan === p.code && !change.stalled ? <Loader size="xs" aria-label="Loading the preview" /> : null}
                  onClick={() => !change.busy && change.preview(p.code, billed)}
                >
                  {ownPlan ? `Bill ${p.name} ${billed === "year" ? "yearly" : "monthly"}` : `Change to ${p.name}`}
                </Button>
              ) : null}
            </Card>
          );
        })}
      </SimpleGrid>

      <PlanChangeDialog change={change} planName={planName} timeZone={timeZone} used={usage?.used ?? null} changesTo={changesTo} />
    </Stack>
  );
}
