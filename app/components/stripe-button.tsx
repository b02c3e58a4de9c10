// A button that sends the person to a page Stripe hosts (Checkout, the billing portal): posted as
// a fetcher, so a Stripe that does not answer is said within seconds, with Retry, the way plan
// changes say it (useStalled, StripeSlow), instead of a spinner until the server's deadline.
// The action answers a redirect to Stripe's page, which the router follows as a full navigation.
import { Alert, Button, type ButtonProps } from "@mantine/core";
import { useFetcher } from "@remix-run/react";
import { type ReactNode, useState } from "react";
import { STRIPE_PATIENCE_MS, StripeSlow, useStalled } from "./plan-change-dialog";

type Failure = { ok: false; error: string; code?: string };

export function StripeButton({
  action,
  fields,
  waitingFor,
  children,
  ...button
}: {
  /** The route whose action answers the redirect (the current one when omitted). */
  action?: string;
  fields: Record<string, string>;
  /** Said in the "not answering" message: "Checkout", "The Stripe billing portal". */
  waitingFor: string;
  children: ReactNode;
} & Omit<ButtonProps, "children" | "loading">) {
  const fetcher = useFetcher<Failure>();
  const [attempt, setAttempt] = useState(0);
  const busy = fetcher.state !== "idle";
  const stalled = useStalled(busy, STRIPE_PATIENCE_MS, attempt);
  const failed = !busy && fetcher.data && !fetcher.data.ok ? fetcher.data : null;
  // The server gave up on Stripe (its deadline, or the breaker open): the same "not answering".
  const unanswered = failed?.code === "UPSTREAM_UNAVAILABLE";
  const submit = () => {
    setAttempt((n) => n + 1);
    fetcher.submit(fields, { method: "post", action });
  };
  return (
    <>
      <Button {...button} type="button" loading={busy && !stalled} disabled={busy && stalled} onClick={() => !busy && submit()}>
        {children}
      </Button>
      {(busy && stalled) || unanswered ? (
        <div className="mt-2 basis-full">
          <StripeSlow onRetry={submit} paying={false} waitingFor={waitingFor} />
        </div>
      ) : failed ? (
        <Alert color="red" role="alert" className="mt-2 basis-full">
          {failed.error}
        </Alert>
      ) : null}
    </>
  );
}
