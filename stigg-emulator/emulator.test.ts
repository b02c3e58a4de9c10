// The local Stigg holds the SDK to its pinned documents and key, answers in Stigg's error shape,
// and fails the ways the SDK's retry rules tell apart.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as sdk from "@stigg/api-client-js/src/generated/sdk";
import Stigg from "@stigg/node-server-sdk";
import { print } from "graphql";
import { sdkOptions } from "../app/server/stigg/stigg.server";
import { freePort } from "../test/ports";
import { checkDocument, PINNED } from "./documents";
import { type StiggLocal, startStiggLocal } from "./index";

let local: StiggLocal;
beforeAll(async () => {
  local = await startStiggLocal({ port: freePort(), databaseUrl: process.env.DATABASE_URL as string });
});
afterAll(async () => {
  await local.stop();
});

const post = (body: unknown, key: string | null = local.apiKey) =>
  fetch(`${local.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { "x-api-key": key } : {}) },
    body: JSON.stringify(body),
  });

const client = (timeout = 10_000, apiKey = local.apiKey) => Stigg.initialize({ ...sdkOptions({ url: local.url, apiKey }), timeout });

describe("local Stigg", () => {
  test("every pinned document passes its own check; a changed selection or an unknown operation fails", async () => {
    for (const [name, doc] of Object.entries(PINNED)) expect(checkDocument(print(doc), name)).toHaveProperty("name", name);
    const changed = print(sdk.GetEntitlementsDocument).replace(/\n\s*usageLimit\n/, "\n");
    expect(changed).not.toBe(print(sdk.GetEntitlementsDocument));
    expect(checkDocument(changed, "GetEntitlements")).toMatchObject({ code: "GRAPHQL_VALIDATION_FAILED" });
    const r = await post({ operationName: "GetEntitlements", query: changed, variables: { query: { customerId: "c" } } });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { errors: { message: string; extensions: { code: string } }[]; data: null };
    expect(body.data).toBeNull();
    expect(body.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(body.errors[0].message).toContain("does not match the pinned document");
    expect(checkDocument("query Other { x }", "Other")).toMatchObject({ code: "GRAPHQL_VALIDATION_FAILED" });
  });

  test("a request without the key, or with another, is 401 in Stigg's error shape", async () => {
    const query = print(sdk.GetSdkConfigurationDocument);
    for (const key of [null, "server-someone-else"]) {
      const r = await post({ operationName: "GetSdkConfiguration", query }, key);
      expect(r.status).toBe(401);
      const body = (await r.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0].extensions.code).toBe("Unauthenticated");
    }
    expect((await post({ operationName: "GetSdkConfiguration", query })).status).toBe(200);
  });

  test("the real SDK provisions a customer; an unknown customer is Stigg's CustomerNotFound", async () => {
    const stigg = client();
    const out = await stigg.provisionCustomer({ customerId: "org_e1", name: "E1", email: "e1@example.com", billingId: "cus_1", subscriptionParams: null });
    expect(out.customer).toMatchObject({ id: "org_e1", name: "E1", email: "e1@example.com", billingId: "cus_1" });
    expect(await local.store.customer("org_e1")).toMatchObject({ refId: "org_e1", billingId: "cus_1" });
    await expect(stigg.previewSubscription({ customerId: "org_nobody", planId: "plan-x" })).rejects.toThrow(/Customer not found/);
  });

  test("faults as the SDK's retry rules see them: 500 once, 503 five times, a hang until the timeout, a refused connection retried", async () => {
    const stigg = client(400);
    const call = () => stigg.provisionCustomer({ customerId: "org_f", subscriptionParams: null });
    const timed = async () => {
      const t0 = performance.now();
      const err = await call().then(
        () => null,
        (e: unknown) => e,
      );
      return { err, ms: performance.now() - t0 };
    };
    let sw = local.fault("500");
    let r = await timed();
    sw.clear();
    expect(r.err).toBeTruthy();
    expect(sw.hits).toBe(1);
    expect(r.ms).toBeLessThan(1000);

    sw = local.fault("503");
    r = await timed();
    sw.clear();
    expect(r.err).toBeTruthy();
    expect(sw.hits).toBe(5);

    sw = local.fault("hang");
    r = await timed();
    sw.clear();
    expect(r.err).toBeTruthy();
    expect(r.ms).toBeGreaterThanOrEqual(350);
    expect(r.ms).toBeLessThan(2000);

    // Refused, then listening again 100 ms later: the call succeeds, so it was retried (the SDK's
    // backoff is jittered, 500 ms doubling to 2 s, so its total time is no fixed figure).
    sw = local.fault("refused");
    setTimeout(() => sw.clear(), 100);
    r = await timed();
    expect(r.err).toBeNull();
    expect(r.ms).toBeGreaterThan(100);
    expect(await call()).toMatchObject({ customer: { id: "org_f" } });
  }, 30_000);
});
