// Changing plan from the billing page: the preview (what is paid now, what the quota becomes,
// which features and allowances change),
// then the confirmation, both as fetcher submissions so that a Stripe that does not answer is
// said within seconds ("nothing was charged", Retry) instead of a ~21 s spinner. Focus goes
// back to the button that opened the dialog, or to the outcome when that button is gone.
import { Alert, Button, Group, Modal, Stack, Table, Text } from "@mantine/core";
import { useFetcher } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import type { PlanChangePreview as Preview } from "~/server/billing/plan-change.server";
import { formatDate, formatMoney, formatNumber } from "./format";
import type { FeatureChange } from "./plan-terms";

export type BillingInterval = "month" | "year";

/**
 * How long a Stripe round trip may take before the page says it is not answering: before the
 * server's own deadline (STRIPE_REQUEST_DEADLINE_MS, 5 s), which then ends the attempt with 503
 * UPSTREAM_UNAVAILABLE, said the same way (Retry is safe: the same key, charged at most once).
 */
export const STRIPE_PATIENCE_MS = 3000;

// `notice`: the preview was stale (over 5 minutes old), so the fresh one is shown to confirm again.
type Result = { ok: true; message?: string; preview?: Preview; notice?: string } | { ok: false; error: string; code?: string };

/** True once the current attempt has been busy for longer than `ms`. */
export function useStalled(busy: boolean, ms: number, attempt: number) {
  const [stalled, setStalled] = useState(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new attempt restarts the clock
  useEffect(() => {
    setStalled(false);
    if (!busy) return;
    const t = setTimeout(() => setStalled(true), ms);
    return () => clearTimeout(t);
  }, [busy, ms, attempt]);
  return stalled;
}

export function usePlanChange() {
  const fetcher = useFetcher<Result>({ key: "plan-change" });
  const [request, setRequest] = useState<Record<string, string> | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [dialog, setDialog] = useState<Preview | null>(null);
  const opener = useRef<string | null>(null);
  const outcome = useRef<HTMLDivElement>(null);
  const busy = fetcher.state !== "idle";
  const stalled = useStalled(busy, STRIPE_PATIENCE_MS, attempt);
  const submit = (data: Record<string, string>) => {
    setRequest(data);
    setAttempt((n) => n + 1);
    fetcher.submit(data, { method: "post" });
  };
  const data = fetcher.data;
  // A preview opens the dialog; a confirmed change closes it and reports on the page.
  const focusBack = (toOpener: boolean) => {
    const button = toOpener && opener.current ? document.querySelector<HTMLElement>(`[data-plan-button="${opener.current}"]:not([disabled])`) : null;
    (button ?? outcome.current)?.focus();
  };
  // Where focus goes once the dialog has finished closing: set when it starts closing, used by
  // `afterClose` (the modal's exit transition has ended, so its focus trap can no longer take
  // focus back). Focusing earlier raced the trap and left focus on <body>.
  const focusAfterClose = useRef<"opener" | "outcome" | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reacts to a finished submission only
  useEffect(() => {
    if (!data || busy) return;
    if (data.ok && data.preview) setDialog(data.preview);
    else if (data.ok) {
      focusAfterClose.current = "outcome";
      if (dialog) setDialog(null);
      else setTimeout(() => focusBack(false), 0);
    } else if (!dialog) setTimeout(() => focusBack(false), 0);
  }, [data, busy]);
  const waiting = busy && stalled;
  // The server gave up on Stripe (its deadline, or Stripe's breaker open): said as the page's own
  // "not answering", with Retry, not as an error.
  const unanswered = !busy && data !== undefined && !data.ok && data.code === "UPSTREAM_UNAVAILABLE";
  const paymentIntent = request?.intent === "upgrade" || request?.intent === "downgrade";
  return {
    busy,
    pendingPlan: busy ? (request?.planCode ?? null) : null,
    pendingIntent: busy ? (request?.intent ?? null) : null,
    /** How often the plan previewed (or being changed to) bills: the switch's choice sent with it. */
    interval: (request?.interval === "year" ? "year" : "month") as BillingInterval,
    stalled: waiting || unanswered,
    /** The last payment attempt ended without Stripe's answer (it may still go ahead: Retry checks). */
    paymentUnconfirmed: unanswered && paymentIntent,
    /** The page-level outcome (an error of a preview, or the confirmed change). */
    result: !busy && !dialog && !unanswered ? data : undefined,
    dialog,
    outcome,
    preview(planCode: string, interval: BillingInterval) {
      opener.current = planCode;
      submit({ intent: "preview", planCode, interval });
    },
    confirm(p: Preview) {
      // The preview's prorationDate: Stripe charges exactly what it showed. The key makes a retry
      // of this confirmation charge nothing more.
      submit({
        intent: p.change === "upgrade" ? "upgrade" : "downgrade",
        planCode: p.to,
        interval: request?.interval ?? "month",
        prorationDate: String(p.prorationDate),
        idempotencyKey: `${p.to}-${p.prorationDate}`,
      });
    },
    retry() {
      if (request) submit(request);
    },
    close() {
      focusAfterClose.current = "opener";
      setDialog(null);
    },
    /** The modal's exit transition has ended: focus the opener, or the outcome of the change. */
    afterClose() {
      const target = focusAfterClose.current;
      focusAfterClose.current = null;
      if (target) focusBack(target === "opener");
    },
    errorInDialog: dialog && !busy && data && !data.ok && !unanswered ? data.error : null,
    notice: dialog && !busy && data?.ok ? (data.notice ?? null) : null,
  };
}

export type PlanChange = ReturnType<typeof usePlanChange>;

/** Shown while Stripe is slow: nothing is charged until Stripe answers, and Retry is safe. */
export function StripeSlow({
  onRetry,
  paying,
  unconfirmed = false,
  waitingFor,
}: {
  onRetry: () => void;
  paying: boolean;
  unconfirmed?: boolean;
  /** What waits for Stripe when nothing is being paid (the default: the price preview). */
  waitingFor?: string;
}) {
  const retry = useRef<HTMLButtonElement>(null);
  useEffect(() => retry.current?.focus(), []);
  return (
    <Alert color="yellow" title="Stripe is not answering" role="alert">
      <Text size="sm">
        {unconfirmed
          ? "Stripe did not confirm the payment in time. If it went ahead, your plan changes within a minute; Retry checks and finishes it. Retrying is safe: you are charged at most once."
          : paying
            ? "Stripe has not confirmed the payment: nothing has been charged so far and your plan is unchanged. If Stripe answers, the upgrade finishes here. Retrying is safe: you are charged at most once."
            : `Nothing was charged. ${waitingFor ?? "The price preview"} needs Stripe; try again in a moment.`}
      </Text>
      <Button ref={retry} size="xs" className="mt-2" onClick={onRetry}>
        Retry
      </Button>
    </Alert>
  );
}

export function PlanChangeDialog({
  change,
  planName,
  timeZone,
  used,
  changesTo,
}: {
  change: PlanChange;
  planName: (code: string) => string;
  timeZone: string;
  used: number | null;
  /** What moving to a plan changes, feature by feature (from the catalog). */
  changesTo: (planCode: string) => FeatureChange[];
}) {
  const preview = change.dialog;
  const paying = change.busy && (change.pendingIntent === "upgrade" || change.pendingIntent === "downgrade");
  const changes = preview ? changesTo(preview.to) : [];
  const per = change.interval === "year" ? "a year" : "a month";
  return (
    <Modal
      opened={Boolean(preview)}
      onClose={change.close}
      title={
        preview
          ? `${preview.change === "upgrade" ? "Upgrade" : "Downgrade"} to ${planName(preview.to)}${change.interval === "year" ? ", billed yearly" : ""}`
          : ""
      }
      centered
      returnFocus={false}
      closeOnEscape={!paying}
      closeOnClickOutside={!paying}
      closeButtonProps={{ "aria-label": "Close", disabled: paying }}
      transitionProps={{ onExited: change.afterClose }}
    >
      {preview ? (
        <Stack>
          {change.notice ? (
            <Alert color="yellow" role="status">
              {change.notice}
            </Alert>
          ) : null}
          {preview.change === "upgrade" ? (
            <Text>
              You pay <strong data-testid="amount-due">{formatMoney(preview.amountDueNow, preview.currency)}</strong> now. Your quota becomes{" "}
              {formatNumber(preview.includedUnits)} API calls this period
              {used !== null ? (
                <>
                  {" "}
                  — {formatNumber(used)} already used, so <strong>{formatNumber(Math.max(0, preview.includedUnits - used))} left</strong>
                </>
              ) : null}
              . Then {formatMoney(preview.nextInvoiceAmount, preview.currency)} {per} from {formatDate(preview.nextInvoiceAt, timeZone)}.
            </Text>
          ) : (
            <Text>
              Nothing is charged now. From {formatDate(preview.nextInvoiceAt, timeZone)} you pay {formatMoney(preview.nextInvoiceAmount, preview.currency)}{" "}
              {per} for {formatNumber(preview.includedUnits)} API calls a month.
            </Text>
          )}
          {changes.length ? (
            <div>
              <Text fw={600} size="sm" id="feature-changes">
                What changes
              </Text>
              <ul aria-labelledby="feature-changes" className="m-0 mt-1 pl-5 text-sm" data-testid="feature-changes">
                {changes.map((c) => (
                  <li key={c.feature}>
                    {c.label}: {c.from} → {c.to}
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
          {preview.lines.length ? (
            <Table>
              <caption className="sr-only">What you pay now</caption>
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
          {change.stalled ? <StripeSlow onRetry={change.retry} paying={paying} unconfirmed={change.paymentUnconfirmed} /> : null}
          {change.errorInDialog ? (
            <Alert color="red" role="alert">
              {change.errorInDialog} Nothing was charged.
              <Button size="xs" className="ml-2" onClick={change.retry}>
                Retry
              </Button>
            </Alert>
          ) : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={change.close} disabled={paying} data-autofocus>
              Not now
            </Button>
            <Button onClick={() => change.confirm(preview)} loading={paying && !change.stalled} disabled={paying && change.stalled}>
              {preview.change === "upgrade" ? `Pay ${formatMoney(preview.amountDueNow, preview.currency)} and upgrade` : "Schedule downgrade"}
            </Button>
          </Group>
        </Stack>
      ) : null}
    </Modal>
  );
}
