// entitlements() and can() against the real app: typed answers checked against the OpenAPI
// document, each feature type, and false (not an error) for an unknown feature or an inactive org.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../test/app";
import { type Contract, contractFetch } from "../../test/contract";
import { orgWithKey, setSubscriptionMirror } from "../../test/factories";
import { Metered, MeteredApiError } from "../src/index";

let app: TestApp;
let contract: Contract;
beforeAll(async () => {
  app = await startApp();
  contract = contractFetch(app.url);
});
afterAll(async () => {
  await app.stop();
});
const client = (apiKey: string) => new Metered({ apiKey, baseUrl: app.url, backoffMs: 20, fetch: contract.fetch });

describe("entitlements and can", () => {
  test("entitlements() answers the plan, the period and every feature", async () => {
    const org = await orgWithKey({ plan: "growth" });
    const e = await client(org.key).entitlements();
    expect(e.plan).toMatchObject({ code: "growth", interval: "month" });
    expect(e.features.map((f) => `${f.feature}:${f.type}`)).toEqual(["api_call:metered", "seats:numeric", "sso:boolean", "tokens:metered", "webhooks:boolean"]);
    expect(await client(org.key).entitlement("seats")).toEqual({ feature: "seats", type: "numeric", limit: 10 });
  });

  test("can() reads each type: granted, a limit (null unlimited), remaining units", async () => {
    const growth = client((await orgWithKey({ plan: "growth" })).key);
    expect(await growth.can("webhooks")).toBe(true);
    expect(await growth.can("sso")).toBe(false);
    expect(await growth.can("seats", 10)).toBe(true);
    expect(await growth.can("seats", 11)).toBe(false);
    expect(await growth.can("tokens", 25_000_000)).toBe(true);
    expect(await growth.can("tokens", 25_000_001)).toBe(false);
    const pro = client((await orgWithKey({ plan: "pro" })).key);
    expect(await pro.can("seats", 10_000)).toBe(true);
    expect(await pro.can("sso")).toBe(true);
  });

  test("can() is false for an unknown feature and an inactive org; a bad key throws", async () => {
    const org = await orgWithKey({ plan: "starter" });
    expect(await client(org.key).can("teleport")).toBe(false);
    await expect(client(org.key).entitlement("teleport")).rejects.toMatchObject({ code: "NOT_FOUND", status: 404 });
    await setSubscriptionMirror({ orgId: org.orgId, planCode: "starter", status: "canceled" });
    expect(await client(org.key).can("webhooks")).toBe(false);
    const bad = await client("mk_test_0000000000000000000000000000")
      .can("webhooks")
      .catch((e) => e);
    expect(bad).toBeInstanceOf(MeteredApiError);
    expect(bad.code).toBe("UNAUTHENTICATED");
  });
});
