// The Stripe SDK client every billing module uses, guarded against a Stripe that does not answer:
// - a deadline: a person's billing request (callerDeadline) gets every Stripe call it makes, the
//   SDK's retries included, within STRIPE_REQUEST_DEADLINE_MS, then 503 "Stripe is not answering";
//   no attempt is sent past it. Elsewhere (worker, CLI) each attempt waits STRIPE_TIMEOUT_MS, and
//   the SDK's retries bound the whole call: (1 + retries) × the timeout, plus its short sleeps.
// - a breaker: STRIPE_BREAKER_FAILURES consecutive attempts that time out, fail to connect or get
//   a 5xx open it; then no attempt is sent (a person's request answers 503 at once, a job fails
//   and graphile-worker retries it later) while a probe asks Stripe every STRIPE_BREAKER_PROBE_MS.
// Every attempt goes through the guard (the SDK's HttpClient), so the worker's calls count too.
import { AsyncLocalStorage } from "node:async_hooks";
import Stripe from "stripe";
import { observeStripe, watchBreaker } from "../observe/metrics.server";
import { createBreaker } from "../platform/breaker.server";
import { config } from "../platform/config.server";
import { currentRequest, type RequestContext } from "../platform/request-context.server";
import { StripeUnavailable } from "./stripe-errors.server";

const connection = config.STRIPE_SECRET_KEY
  ? { key: config.STRIPE_SECRET_KEY, at: {}, retries: 2 }
  : { key: "sk_test_local", at: { host: "127.0.0.1", port: config.STRIPE_LOCAL_PORT, protocol: "http" as const }, retries: 1 };

/** The probe's own client: unguarded (it must reach Stripe while the breaker is open), no retries. */
const PROBE_TIMEOUT_MS = 3000;
const prober = new Stripe(connection.key, { ...connection.at, timeout: PROBE_TIMEOUT_MS, maxNetworkRetries: 0 });

export const stripeBreaker = createBreaker({
  name: "stripe",
  failuresToOpen: config.STRIPE_BREAKER_FAILURES,
  probeEveryMs: config.STRIPE_BREAKER_PROBE_MS,
  probeTimeoutMs: PROBE_TIMEOUT_MS + 500,
  // Any answer (even a 401 or a 429) is Stripe answering; only a 5xx or no answer keeps it open.
  probe: async () => {
    try {
      await prober.prices.list({ limit: 1 });
    } catch (err) {
      if (err instanceof Stripe.errors.StripeConnectionError || ((err as { statusCode?: number }).statusCode ?? 0) >= 500) throw err;
    }
  },
  whileOpen: 'answering billing calls 503 "Stripe is not answering"',
});
watchBreaker(stripeBreaker);

// ---- the deadline of a person's request -------------------------------------------------------

type CallerScope = { deadline: number; cut: (err: Error) => void };
const scopes = new AsyncLocalStorage<CallerScope>();
// One deadline per request, however many billing operations it runs (an upgrade whose preview
// expired previews again): taken from the request's context, set by its first Stripe operation.
const requestDeadlines = new WeakMap<RequestContext, number>();

/** The 503 of a Stripe that does not answer in time, or whose breaker is open. */
export const notAnswering = () => new StripeUnavailable({ kind: "down" });

/**
 * Runs a person's billing operation: it answers within the request's Stripe deadline (503
 * "Stripe is not answering" at the deadline, or at once when the breaker refuses one of its
 * calls). Work that needs no Stripe call (validation, an idempotent replay) is answered as usual.
 * Past the deadline no Stripe attempt is sent, so the operation left behind ends by itself.
 */
export async function callerDeadline<T>(operation: () => Promise<T>): Promise<T> {
  if (scopes.getStore()) return operation();
  const request = currentRequest();
  const deadline = (request && requestDeadlines.get(request)) ?? Date.now() + config.STRIPE_REQUEST_DEADLINE_MS;
  if (request) requestDeadlines.set(request, deadline);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cut: (err: Error) => void = () => {};
  const cutOff = new Promise<never>((_, reject) => {
    cut = reject;
    timer = setTimeout(() => reject(notAnswering()), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([scopes.run({ deadline, cut }, operation), cutOff]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- the guard on every attempt ---------------------------------------------------------------

/** An attempt not sent: the SDK takes it as a connection error (and may retry it, unsent too). */
const unsent = (why: string) => Object.assign(new Error(why), { code: "STRIPE_NOT_SENT" });

const fetchClient = Stripe.createFetchHttpClient();

const guardedHttpClient: Stripe.HttpClient = {
  getClientName: () => fetchClient.getClientName(),
  async makeRequest(host, port, path, method, headers, body, protocol, timeout) {
    const scope = scopes.getStore();
    if (stripeBreaker.isOpen()) {
      stripeBreaker.refused();
      observeStripe("breaker_open");
      scope?.cut(notAnswering());
      throw unsent("the Stripe breaker is open");
    }
    const left = scope ? Math.min(timeout, scope.deadline - Date.now()) : timeout;
    if (left <= 0) throw unsent("past the request's Stripe deadline");
    try {
      const response = await fetchClient.makeRequest(host, port, path, method, headers, body, protocol, left);
      if (response.getStatusCode() >= 500) stripeBreaker.failed({ code: `HTTP_${response.getStatusCode()}` });
      else stripeBreaker.succeeded();
      return response;
    } catch (err) {
      const timedOut = (err as { code?: string }).code === Stripe.HttpClient.TIMEOUT_ERROR_CODE;
      observeStripe(timedOut ? "timeout" : "network_error");
      stripeBreaker.failed(timedOut ? { code: "TIMEOUT" } : err);
      throw err;
    }
  },
};

export const stripe = new Stripe(connection.key, {
  ...connection.at,
  timeout: config.STRIPE_TIMEOUT_MS,
  maxNetworkRetries: connection.retries,
  httpClient: guardedHttpClient,
});
