// Top-ups: buy packs of prepaid credits for a metric (`?metric=`; the hard stop links here). Shows
// the pack, the exact price of the packs chosen and the saved card; Buy charges that card at once
// (the credits are granted before the page answers) or, without one, goes to Stripe's Checkout.
// The form carries one idempotency key per page view: a double click buys once.
import { Alert, Button, Card, Group, NumberInput, SegmentedControl, Stack, Text, Title } from "@mantine/core";
import { type ActionFunctionArgs, json, type LoaderFunctionArgs, redirect } from "@remix-run/node";
import { Form, Link, useLoaderData, useNavigation, useSearchParams } from "@remix-run/react";
import { useState } from "react";
import { formatDate, formatMoney, formatNumber } from "~/components/format";
import { ActionOutcome, useActionOutcome } from "~/components/section";
import { wholeNumberOf } from "~/server/api/form-fields.server";
import { MAX_TOP_UP_PACKS, topUpBody } from "~/server/api/schemas.server";
import { requireUser } from "~/server/auth/session.server";
import { creditsOf } from "~/server/billing/credit-grants.server";
import { buyTopUp, cardOnFile, convergeTopUpReturn, listPacks } from "~/server/billing/top-ups.server";
import { ID_PATTERN } from "~/server/domain/vocabulary.server";
import { portalAction } from "~/server/http/portal-action.server";
import { getOrg } from "~/server/orgs/orgs.server";
import { AppError, parseWith } from "~/server/platform/errors.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const user = await requireUser(request, { role: "admin" });
  const url = new URL(request.url);
  // Back from Checkout: grant the paid session now, then show the page without the session id.
  const sessionId = url.searchParams.get("session_id");
  if (sessionId !== null) {
    await convergeTopUpReturn(user.orgId, sessionId);
    url.searchParams.delete("session_id");
    throw redirect(`${url.pathname}${url.search}`);
  }
  const [org, packs, card, credits] = await Promise.all([getOrg(user.orgId), listPacks(), cardOnFile(user.orgId), creditsOf(user.orgId)]);
  const wanted = url.searchParams.get("metric");
  const metric = packs.find((p) => p.metric === wanted)?.metric ?? packs[0]?.metric ?? null;
  // The limit comes with the data: a .server module's values never reach the browser.
  return json({ packs, metric, card, credits, timeZone: org.timeZone, idempotencyKey: `portal-${crypto.randomUUID()}`, maxPacks: MAX_TOP_UP_PACKS });
};

/** The buy form by the API's rules (topUpBody), in the page's words, with the page view's idempotency key. */
function purchaseOf(form: FormData) {
  // The page puts a key in each view, so a double click buys once: a form without one did not come from the page as it is now.
  const idempotencyKey = String(form.get("idempotencyKey") ?? "");
  if (!ID_PATTERN.test(idempotencyKey)) throw new AppError("VALIDATION_FAILED", "This page is out of date: reload it and buy again. Nothing was charged.");
  const purchase = parseWith(
    topUpBody,
    { metric: String(form.get("metric") ?? ""), packs: wholeNumberOf(String(form.get("packs") ?? "")) },
    { metric: "Pick what to buy credits for.", packs: `Buy from 1 to ${MAX_TOP_UP_PACKS} packs, as a whole number.` },
  );
  return { ...purchase, idempotencyKey };
}

export const action = (args: ActionFunctionArgs) =>
  portalAction(args, async ({ user, form }) => {
    if (form.get("intent") !== "buy") throw new AppError("VALIDATION_FAILED", "Unknown action.");
    const bought = await buyTopUp(user.orgId, purchaseOf(form));
    if (bought.status === "checkout") return redirect(bought.checkoutUrl);
    if (bought.status === "failed") throw new AppError("PAYMENT_FAILED", `The card was not charged: ${bought.reason} Nothing was bought.`);
    if (bought.status === "pending")
      return { message: `Payment of ${formatMoney(bought.amountCents, bought.currency)} received; the credits are added as soon as Stripe confirms it.` };
    return {
      message: `Bought ${formatNumber(bought.units)} ${bought.metric} credits for ${formatMoney(bought.amountCents, bought.currency)}; they expire on ${new Date(bought.grant.expiresAt).toISOString().slice(0, 10)}.`,
    };
  });

export default function TopUps() {
  const { packs, metric: first, card, credits, timeZone, idempotencyKey, maxPacks } = useLoaderData<typeof loader>();
  const [metric, setMetric] = useState(first);
  const [count, setCount] = useState(1);
  const [params] = useSearchParams();
  const result = useActionOutcome();
  const nav = useNavigation();
  const pack = packs.find((p) => p.metric === metric);
  const have = credits.find((c) => c.metric === metric);
  const valid = Number.isInteger(count) && count >= 1 && count <= maxPacks;
  return (
    <Stack gap="lg">
      <Group justify="space-between">
        <Title order={1} size="h2">
          Buy credits
        </Title>
        <Button component={Link} to="/billing" variant="subtle">
          Back to billing
        </Button>
      </Group>
      <ActionOutcome result={result} />
      {params.get("checkout") === "success" ? (
        <Alert color="teal" role="status">
          Payment received: your credits are added as soon as Stripe confirms it.
        </Alert>
      ) : null}
      {params.get("checkout") === "canceled" ? <Alert color="gray">Checkout was canceled; nothing was charged.</Alert> : null}
      {!pack ? (
        <Text>No top-up packs are sold at the moment.</Text>
      ) : (
        <Card withBorder padding="lg">
          {packs.length > 1 ? (
            <SegmentedControl
              aria-label="Credits for"
              value={metric ?? undefined}
              onChange={setMetric}
              data={packs.map((p) => ({ value: p.metric, label: p.metric }))}
              className="mb-4"
            />
          ) : null}
          <Text size="lg" fw={700}>
            {formatNumber(pack.units)} {pack.metric} per pack · {formatMoney(pack.priceCents, pack.currency)}
          </Text>
          <Text size="sm" c="dimmed">
            Credits are used after your plan's included units and before any overage, carry over from month to month, and expire 12 months after you buy them.
            {have ? ` You have ${formatNumber(have.remaining)} ${metric} credits now.` : ""}
          </Text>
          <Form method="post" className="mt-4">
            <input type="hidden" name="intent" value="buy" />
            <input type="hidden" name="metric" value={pack.metric} />
            <input type="hidden" name="idempotencyKey" value={idempotencyKey} />
            <Group align="end">
              <NumberInput
                label="Packs"
                name="packs"
                min={1}
                max={maxPacks}
                allowDecimal={false}
                value={count}
                onChange={(v) => setCount(typeof v === "number" ? v : Number(v))}
                className="w-32"
              />
              <div>
                <Text size="sm">Total</Text>
                <Text size="xl" fw={700} data-testid="top-up-total">
                  {valid ? formatMoney(pack.priceCents * count, pack.currency) : "—"}
                </Text>
                <Text size="xs" c="dimmed">
                  {valid ? `${formatNumber(pack.units * count)} ${pack.metric}` : `1 to ${maxPacks} packs`}
                </Text>
              </div>
            </Group>
            <Text size="sm" className="mt-4">
              {card.state === "saved"
                ? `Charged at once to your ${card.brand} card ending ${card.last4}.`
                : card.state === "none"
                  ? "No card is saved: you pay on Stripe's checkout page."
                  : "Stripe is not answering right now; the card saved with Stripe is charged, or you pay on its checkout page."}
            </Text>
            <Button type="submit" className="mt-3" disabled={!valid} loading={nav.state !== "idle"}>
              {card.state === "saved" && valid ? `Buy for ${formatMoney(pack.priceCents * count, pack.currency)}` : "Buy"}
            </Button>
          </Form>
        </Card>
      )}
      {have ? (
        <Card withBorder>
          <Title order={3} size="h5">
            Your {metric} credits
          </Title>
          <ul className="mt-2 mb-0 pl-5 text-sm">
            {have.grants.map((g) => (
              <li key={g.id}>
                {formatNumber(g.remaining)} of {formatNumber(g.units)} left · expires {formatDate(g.expiresAt, timeZone)}
              </li>
            ))}
          </ul>
        </Card>
      ) : null}
    </Stack>
  );
}
