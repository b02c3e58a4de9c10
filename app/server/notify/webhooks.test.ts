// Outbound webhooks end to end: the routes of the real app, the real worker, and a receiver that
// verifies every request with the `standardwebhooks` package.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { signIn, until } from "../../../test/billing";
import { orgWithKey, rid } from "../../../test/factories";
import { jobsIdle } from "../../../test/jobs";
import { startWebhookReceiver, startWorker } from "../../../test/notify";
import { revokeApiKey } from "../auth/keys.server";
import { sql } from "../platform/db.server";
import { recordUsage } from "../usage/engine.server";

let app: TestApp;
let worker: { stop: () => Promise<void> };
beforeAll(async () => {
  app = await startApp();
  worker = startWorker();
});
afterAll(async () => {
  await Promise.all([app?.stop(), worker?.stop()]);
});

async function session(orgId: string) {
  const cookie = await signIn(app, orgId);
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${app.url}${path}`, {
      method,
      headers: { cookie, origin: app.url, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  return call;
}

const record = (orgId: string, quantity: number) => recordUsage({ orgId, requestId: rid(), metric: "api_call", quantity });
/** Runs the scheduled retries now instead of in minutes (the schedule itself is checked). */
const fastForwardRetries = () =>
  sql`update graphile_worker._private_jobs set run_at = now()
       where task_id = (select id from graphile_worker._private_tasks where identifier = 'deliver_webhook') and run_at > now()`;

/** A receiver whose first request answers 500 after 1.5 s, and every later one 200 at once. */
function slowThenUp() {
  let hits = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async () => {
      hits++;
      if (hits > 1) return new Response("thanks");
      await Bun.sleep(1500);
      return new Response("slow and down", { status: 500 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/hooks`, hits: () => hits, stop: () => server.stop(true) };
}

describe("outbound webhooks", () => {
  test("a failing endpoint is retried on schedule with the same signed message, then succeeds; each attempt is logged", async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    const call = await session(orgId);
    let secret = "";
    const receiver = startWebhookReceiver(() => secret, [500, 503]);
    try {
      const created = await call("POST", "/api/v1/webhooks/endpoints", { url: receiver.url, eventTypes: ["usage.threshold_reached"] });
      expect(created.status).toBe(200);
      secret = created.body.data.secret;
      expect(secret).toStartWith("whsec_");
      // The secret is shown once: the list never has it.
      const listed = await call("GET", "/api/v1/webhooks/endpoints");
      expect(JSON.stringify(listed.body)).not.toContain(secret);

      await record(orgId, 8); // 80%
      const first = await until(async () => {
        const [d] = await sql<{ status: string; next: number }[]>`
          select status, extract(epoch from next_attempt_at - now())::float8 as next from webhook_deliveries where org_id = ${orgId}`;
        return d?.status === "retrying" && d;
      });
      expect(receiver.received).toHaveLength(1);
      expect(first.next).toBeGreaterThan(2); // the first retry waits 5 s
      expect(first.next).toBeLessThanOrEqual(5);
      await until(async () => {
        await fastForwardRetries();
        return receiver.received.length === 3;
      }, 15_000);
      const deliveries = await until(async () => {
        const r = (await call("GET", "/api/v1/webhooks/deliveries")).body.data.deliveries;
        return r[0]?.status === "succeeded" && r;
      });
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0].log.map((a: any) => [a.attempt, a.succeeded, a.responseCode, a.responseBody])).toEqual([
        [1, false, 500, "receiver is down"],
        [2, false, 503, "receiver is down"],
        [3, true, 200, "thanks"],
      ]);
      expect(deliveries[0].log.every((a: any) => a.latencyMs >= 0)).toBe(true);
      // Every attempt was the same message (one webhook-id), signed so the standard library accepts it.
      expect(receiver.received.every((r) => r.verified)).toBe(true);
      expect(new Set(receiver.received.map((r) => r.id)).size).toBe(1);
      expect(receiver.received[0].body).toMatchObject({ type: "usage.threshold_reached", data: { threshold: 80, included: 10 } });

      // A person's retry sends it again; the test button sends a webhook.test to this endpoint.
      expect((await call("POST", `/api/v1/webhooks/deliveries/${deliveries[0].id}/retry`)).status).toBe(200);
      await until(async () => receiver.received.length === 4);
      expect((await call("POST", `/api/v1/webhooks/endpoints/${created.body.data.id}/test`)).status).toBe(200);
      await until(async () => receiver.received.length === 5);
      expect(receiver.received[4]).toMatchObject({ verified: true, body: { type: "webhook.test", data: { endpointId: created.body.data.id } } });
      const audit = await sql`select action, actor, request_id from audit_log where org_id = ${orgId} and action like 'webhook%' order by id`;
      expect(audit.map((a) => a.action)).toEqual(["webhook_endpoint.created", "webhook_delivery.retried"]);
      expect(audit.every((a) => a.actor === "owner@example.com" && a.request_id)).toBe(true);
    } finally {
      receiver.stop();
    }
  });

  test("only subscribed event types are delivered, and a deleted endpoint gets nothing", async () => {
    const { orgId, keyId } = await orgWithKey({ included: 10 });
    const call = await session(orgId);
    let secret = "";
    const receiver = startWebhookReceiver(() => secret);
    /** The org's events of a type once dispatched: their dispatch jobs (which create deliveries) are done. */
    const dispatched = (type: string, n: number) =>
      until(
        async () =>
          (
            await sql`select 1 from events e where e.org_id = ${orgId} and e.type = ${type}
                       and not exists (select 1 from graphile_worker._private_jobs j where j.key = 'event:' || e.id)`
          ).length === n,
      );
    const deliveriesTo = async () =>
      (
        await sql<{ endpoint_id: string; type: string }[]>`
        select d.endpoint_id, e.type from webhook_deliveries d join events e on e.id = d.event_id where d.org_id = ${orgId}`
      ).map((d) => [d.endpoint_id, d.type]);
    try {
      const keysOnly = await call("POST", "/api/v1/webhooks/endpoints", { url: receiver.url, eventTypes: ["api_key.revoked"] });
      secret = keysOnly.body.data.secret;
      const deleted = await call("POST", "/api/v1/webhooks/endpoints", { url: receiver.url, eventTypes: ["usage.threshold_reached"] });
      expect(deleted.status).toBe(200);
      expect((await call("DELETE", `/api/v1/webhooks/endpoints/${deleted.body.data.id}`)).status).toBe(200);
      await record(orgId, 10);
      // Both threshold events of this org dispatched: had any endpoint been picked, its delivery row exists now.
      await dispatched("usage.threshold_reached", 2);
      expect(await deliveriesTo()).toEqual([]);
      expect(receiver.received).toHaveLength(0);
      expect(keysOnly.status).toBe(200);
      // The type it subscribes to does arrive, signed with its secret, and only there.
      await revokeApiKey({ keyId, orgId });
      await dispatched("api_key.revoked", 1);
      expect(await deliveriesTo()).toEqual([[keysOnly.body.data.id, "api_key.revoked"]]);
      await until(async () => receiver.received.length === 1);
      expect(receiver.received[0]).toMatchObject({ verified: true, body: { type: "api_key.revoked", data: { keyId } } });
    } finally {
      receiver.stop();
    }
  });

  test("an endpoint that has failed for three days is disabled with the reason, and gets no more attempts", async () => {
    const { orgId } = await orgWithKey({ included: 10 });
    const call = await session(orgId);
    const receiver = startWebhookReceiver(() => "whsec_unused", [500, 500]);
    try {
      const created = await call("POST", "/api/v1/webhooks/endpoints", { url: receiver.url, eventTypes: ["usage.threshold_reached"] });
      const id = created.body.data.id;
      await sql`update webhook_endpoints set failing_since = now() - interval '3 days 1 minute' where id = ${id}`;
      await record(orgId, 8);
      const endpoint = await until(async () =>
        (await call("GET", "/api/v1/webhooks/endpoints")).body.data.endpoints.find((e: any) => e.id === id && !e.enabled),
      );
      expect(endpoint.disabledReason).toContain("every delivery has failed since");
      const [d] = await sql`select status, next_attempt_at from webhook_deliveries where endpoint_id = ${id}`;
      expect(d).toEqual({ status: "failed", next_attempt_at: null });
      await fastForwardRetries();
      await jobsIdle(["deliver_webhook"]);
      expect(receiver.received).toHaveLength(1);
      const audit = await sql`select actor from audit_log where org_id = ${orgId} and action = 'webhook_endpoint.disabled'`;
      expect(audit.map((a) => a.actor)).toEqual(["system"]);
      // The notice: an event, and an email to the org (kept locally: this worker has no SMTP_URL).
      const notice = await until(
        async () =>
          (
            await sql`select o.subject, o.text_body from email_outbox o join events e on e.id = o.event_id
                       where o.org_id = ${orgId} and o.status = 'local' and e.type = 'webhook_endpoint.disabled'`
          )[0],
      );
      expect(notice.subject).toContain("a webhook endpoint was disabled");
      expect(notice.text_body).toContain(receiver.url);
    } finally {
      receiver.stop();
    }
  });

  test("a receiver answering bytes Postgres cannot store (NUL) has its attempt logged and the delivery settled", async () => {
    const { orgId } = await orgWithKey();
    const call = await session(orgId);
    let hits = 0;
    const receiver = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => {
        hits++;
        return new Response("ok\u0000\u0001binary", { status: 200 });
      },
    });
    try {
      const created = await call("POST", "/api/v1/webhooks/endpoints", { url: `http://127.0.0.1:${receiver.port}/hooks`, eventTypes: ["invoice.paid"] });
      expect((await call("POST", `/api/v1/webhooks/endpoints/${created.body.data.id}/test`)).status).toBe(200);
      const [delivery] = await until(async () => {
        const r = (await call("GET", "/api/v1/webhooks/deliveries")).body.data.deliveries;
        return r[0]?.status === "succeeded" && r;
      });
      expect(delivery.log.map((a: any) => [a.attempt, a.succeeded, a.responseCode, a.responseBody])).toEqual([[1, true, 200, "ok\uFFFD\u0001binary"]]);
      expect(hits).toBe(1);
      // The job is done, not held locked by a failed "fail the job".
      await jobsIdle(["deliver_webhook"]);
    } finally {
      receiver.stop(true);
    }
  });

  test("a person's retry that succeeds while an earlier attempt is still failing: the delivery stays succeeded", async () => {
    const { orgId } = await orgWithKey();
    const call = await session(orgId);
    const receiver = slowThenUp();
    try {
      const created = await call("POST", "/api/v1/webhooks/endpoints", { url: receiver.url, eventTypes: ["invoice.paid"] });
      expect((await call("POST", `/api/v1/webhooks/endpoints/${created.body.data.id}/test`)).status).toBe(200);
      await until(async () => receiver.hits() === 1);
      const [{ id }] = (await call("GET", "/api/v1/webhooks/deliveries")).body.data.deliveries;
      expect((await call("POST", `/api/v1/webhooks/deliveries/${id}/retry`)).status).toBe(200);
      // The slow attempt ends (500) after the retry succeeded: logged, and nothing else changes.
      const [delivery] = await until(async () => {
        const r = (await call("GET", "/api/v1/webhooks/deliveries")).body.data.deliveries;
        return r[0]?.log.length === 2 && r;
      });
      expect(delivery.log.map((a: any) => [a.attempt, a.succeeded, a.responseCode])).toEqual([
        [1, true, 200],
        [2, false, 500],
      ]);
      expect([delivery.status, delivery.nextAttemptAt]).toEqual(["succeeded", null]);
      const [endpoint] = await sql`select failing_since from webhook_endpoints where id = ${created.body.data.id}`;
      expect(endpoint.failing_since).toBeNull();
      await fastForwardRetries();
      await jobsIdle(["deliver_webhook"]);
      expect(receiver.hits()).toBe(2);
    } finally {
      receiver.stop();
    }
  });

  test("a person's retry to a failing endpoint, queued behind an attempt in flight, is not pushed back when that attempt fails", async () => {
    const { orgId } = await orgWithKey();
    const call = await session(orgId);
    const receiver = slowThenUp();
    try {
      const created = await call("POST", "/api/v1/webhooks/endpoints", { url: receiver.url, eventTypes: ["invoice.paid"] });
      // Failing already: its attempts wait in a lane, one at a time.
      await sql`update webhook_endpoints set failing_since = now() where id = ${created.body.data.id}`;
      expect((await call("POST", `/api/v1/webhooks/endpoints/${created.body.data.id}/test`)).status).toBe(200);
      await until(async () => receiver.hits() === 1);
      const [{ id }] = (await call("GET", "/api/v1/webhooks/deliveries")).body.data.deliveries;
      const asked = Date.now();
      expect((await call("POST", `/api/v1/webhooks/deliveries/${id}/retry`)).status).toBe(200);
      // The attempt in flight fails (500) after the person asked again: logged, and the person's
      // attempt runs as soon as the lane is free, not on the retry schedule (5 s, … 20 h).
      const [delivery] = await until(async () => {
        const r = (await call("GET", "/api/v1/webhooks/deliveries")).body.data.deliveries;
        return r[0]?.status === "succeeded" && r;
      });
      expect(Date.now() - asked).toBeLessThan(4000);
      expect(delivery.log.map((a: any) => [a.attempt, a.succeeded, a.responseCode])).toEqual([
        [1, false, 500],
        [2, true, 200],
      ]);
      const [endpoint] = await sql`select failing_since from webhook_endpoints where id = ${created.body.data.id}`;
      expect(endpoint.failing_since).toBeNull();
      await jobsIdle(["deliver_webhook"]);
      expect(receiver.hits()).toBe(2);
    } finally {
      receiver.stop();
    }
  });

  test("bad endpoint input is refused with VALIDATION_FAILED and creates nothing", async () => {
    const { orgId } = await orgWithKey();
    const call = await session(orgId);
    const bad: unknown[] = [
      {},
      { url: "http://127.0.0.1:9/x" },
      { url: "http://127.0.0.1:9/x", eventTypes: [] },
      { url: "http://127.0.0.1:9/x", eventTypes: ["no.such_event"] },
      { url: "http://127.0.0.1:9/x", eventTypes: ["webhook.test"] }, // sent only by "send test"
      { url: 12, eventTypes: ["invoice.paid"] },
      { url: "not a url", eventTypes: ["invoice.paid"] },
      { url: "ftp://127.0.0.1/x", eventTypes: ["invoice.paid"] },
      { url: `http://127.0.0.1:9/${"x".repeat(2001)}`, eventTypes: ["invoice.paid"] },
      { url: "http://127.0.0.1:9/x", eventTypes: ["invoice.paid"], secret: "whsec_mine" },
      { url: "https://u:p@93.184.215.14/", eventTypes: ["invoice.paid"] }, // credentials in the URL
      { url: "https://nonexistent.invalid/", eventTypes: ["invoice.paid"] }, // a name that does not resolve
    ];
    for (const body of bad) {
      const r = await call("POST", "/api/v1/webhooks/endpoints", body);
      expect([r.status, r.body.error?.code, JSON.stringify(body)]).toEqual([400, "VALIDATION_FAILED", JSON.stringify(body)]);
    }
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from webhook_endpoints where org_id = ${orgId}`;
    expect(n).toBe(0);
  });

  test("an endpoint of another org is not found", async () => {
    const a = await orgWithKey();
    const b = await orgWithKey();
    const own = await session(a.orgId);
    const created = await own("POST", "/api/v1/webhooks/endpoints", { url: "http://127.0.0.1:9/x", eventTypes: ["invoice.paid"] });
    expect(created.status).toBe(200);
    // A's own test event makes a real delivery of A's for B to aim at.
    expect((await own("POST", `/api/v1/webhooks/endpoints/${created.body.data.id}/test`)).status).toBe(200);
    const [delivery] = (await own("GET", "/api/v1/webhooks/deliveries")).body.data.deliveries;
    expect(delivery.endpointId).toBe(created.body.data.id);
    const other = await session(b.orgId);
    expect((await other("DELETE", `/api/v1/webhooks/endpoints/${created.body.data.id}`)).status).toBe(404);
    expect((await other("POST", `/api/v1/webhooks/endpoints/${created.body.data.id}/test`)).status).toBe(404);
    expect((await other("POST", `/api/v1/webhooks/deliveries/${delivery.id}/retry`)).status).toBe(404);
    // A still has its endpoint, one delivery, and no retry in its audit log.
    expect((await own("GET", "/api/v1/webhooks/endpoints")).body.data.endpoints.map((e: any) => e.id)).toEqual([created.body.data.id]);
    expect((await own("GET", "/api/v1/webhooks/deliveries")).body.data.deliveries.map((d: any) => d.id)).toEqual([delivery.id]);
    const audit = await sql`select action from audit_log where org_id = ${a.orgId} and action like 'webhook%' order by id`;
    expect(audit.map((x) => x.action)).toEqual(["webhook_endpoint.created"]);
  });
});
