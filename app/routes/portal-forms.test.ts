// The portal's forms take what the API takes, in the person's terms: a number typed or carried
// in a form is refused unless the API's schema would take it, and the refusal is a sentence on the
// page (400, nothing changed), never a 500 or a schema's wording.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../test/app";
import { signIn } from "../../test/billing";
import { orgWithKey } from "../../test/factories";
import { sql } from "../server/platform/db.server";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app?.stop();
});

type Outcome = { status: number; body: { ok: boolean; code?: string; error?: string; message?: string } & Record<string, unknown> };

/** Posts a portal form as the org's owner, same origin: `{ status, body }` of the route's data. */
async function poster(orgId: string, page: string) {
  const cookie = await signIn(app, orgId);
  return async (fields: Record<string, string>): Promise<Outcome> => {
    const r = await fetch(`${app.url}/${page}?_data=routes/_portal.${page.replace("/", "_.")}`, {
      method: "POST",
      headers: { cookie, origin: app.url },
      body: new URLSearchParams(fields),
    });
    return { status: r.status, body: (await r.json()) as Outcome["body"] };
  };
}

describe("the billing page's upgrade", () => {
  test("a prorationDate that is not whole Unix seconds is refused as the API refuses it, and changes nothing", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    const post = await poster(orgId, "billing");
    const before = await sql`select plan_code, status, pending_plan_code from subscriptions where org_id = ${orgId}`;
    for (const prorationDate of ["1796608934.5", "1e9", "0x6b1a0b26", "-1796608934", "abc"]) {
      const r = await post({ intent: "upgrade", planCode: "pro", interval: "year", prorationDate });
      expect([prorationDate, r.status, r.body.code, r.body.error]).toEqual([
        prorationDate,
        400,
        "VALIDATION_FAILED",
        "This preview cannot be confirmed: preview the change again.",
      ]);
    }
    // A whole number passes the check: this mirror has no Stripe subscription, so the upgrade stops there.
    expect((await post({ intent: "upgrade", planCode: "pro", interval: "year", prorationDate: "1796608934" })).body.code).toBe("SUBSCRIPTION_INACTIVE");
    expect(await sql`select plan_code, status, pending_plan_code from subscriptions where org_id = ${orgId}`).toEqual(before);
  });
});

describe("whole-number fields", () => {
  test("top-up packs are plain digits: 1e2, 0x10, 2.5 and -1 are refused, nothing bought", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    const post = await poster(orgId, "billing/top-ups");
    for (const packs of ["1e2", "1E1", "0x10", "2.5", "-1", " ", "0"]) {
      const r = await post({ intent: "buy", metric: "api_call", packs, idempotencyKey: `portal-${crypto.randomUUID()}` });
      expect([packs, r.status, r.body.code]).toEqual([packs, 400, "VALIDATION_FAILED"]);
    }
    expect((await sql`select id from credit_grants where org_id = ${orgId}`).length).toBe(0);
    expect((await sql`select org_id from billing_requests where org_id = ${orgId}`).length).toBe(0);
  });
});

describe("the keys page's roll", () => {
  const graceOf = async (keyId: string) =>
    (await sql<{ s: number | null }[]>`select extract(epoch from previous_hash_until - now())::int as s from api_keys where id = ${keyId}`)[0].s;

  test("a blank grace period is the default 24 hours, not 0; one that is not plain digits is refused and rolls nothing", async () => {
    const { orgId, keyId } = await orgWithKey();
    const post = await poster(orgId, "keys");
    for (const gracePeriodSeconds of ["0x0", "0x15180", "8.64e4", "-0", "86400.0"]) {
      const r = await post({ intent: "roll", keyId, gracePeriodSeconds });
      expect([gracePeriodSeconds, r.status, r.body.error]).toEqual([gracePeriodSeconds, 400, "Choose how long the old secret keeps working."]);
    }
    expect(await graceOf(keyId)).toBeNull();
    for (const gracePeriodSeconds of ["", " "]) {
      const r = await post({ intent: "roll", keyId, gracePeriodSeconds });
      expect([gracePeriodSeconds, r.status]).toEqual([gracePeriodSeconds, 200]);
      expect(Math.abs((await graceOf(keyId))! - 86_400)).toBeLessThan(60);
    }
  });
});

describe("the keys page's expiry date", () => {
  test("a day that does not exist (2027-02-31, 2027-04-31, 2027-02-29) is refused, not moved into the next month", async () => {
    const { orgId } = await orgWithKey();
    const post = await poster(orgId, "keys");
    for (const expiresOn of ["2027-02-31", "2027-04-31", "2027-02-29", "2027-13-01", "2027-00-10"]) {
      const r = await post({ intent: "create", name: "dated", limitMode: "default", expiresOn });
      expect([expiresOn, r.status, r.body.error]).toEqual([expiresOn, 400, `There is no ${expiresOn} on the calendar: pick another expiry date.`]);
    }
    expect((await sql`select id from api_keys where org_id = ${orgId} and name = 'dated'`).length).toBe(0);
    const leap = await post({ intent: "create", name: "dated", limitMode: "default", expiresOn: "2028-02-29" });
    expect(leap.status).toBe(200);
    const [key] = await sql<
      { day: string }[]
    >`select to_char(expires_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as day from api_keys where org_id = ${orgId} and name = 'dated'`;
    expect(key.day).toBe("2028-02-29 00:00");
  });
});

describe("refusals in the person's terms", () => {
  const CAP = "Enter the cap in dollars, from $0 to $1,000,000 (for example 250 or 1,000.50), or tick No cap.";
  const OVERAGE = "Enter the overage alert in dollars, from $0 to $1,000,000 (for example 250 or 1,000.50), or leave it empty.";

  test("the spend cap: in dollars, never the schema's cents or NaN; 1,000.50 is taken", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    const post = await poster(orgId, "billing");
    for (const amount of ["-5", "abc", "", "12.345", "1e3", "2,000,000", "1,00"]) {
      const r = await post({ intent: "spend-cap", amount });
      expect([amount, r.status, r.body.error]).toEqual([amount, 400, CAP]);
    }
    expect((await post({ intent: "spend-cap", amount: "$1,000.50" })).body.ok).toBe(true);
    expect((await sql`select amount_cents from org_spend_caps where org_id = ${orgId}`)[0].amount_cents).toBe(100_050);
  });

  test("the alerts: the overage amount in dollars with commas as the spend cap takes it, each field's refusal a sentence", async () => {
    const { orgId } = await orgWithKey({ plan: "growth" });
    const post = await poster(orgId, "settings");
    const alert = (fields: Record<string, string>) =>
      post({ intent: "alerts", metric: "api_call", percents: "80", creditsBelow: "", overageAbove: "", ...fields });
    expect((await alert({ overageAbove: "$1,000.50", creditsBelow: "1,000" })).body.ok).toBe(true);
    expect(
      await sql`select credits_below::int, overage_above_cents::int from usage_alerts where org_id = ${orgId}`.then((r) => r.map((x) => ({ ...x }))),
    ).toEqual([{ credits_below: 1000, overage_above_cents: 100_050 }]);
    for (const [field, value, error] of [
      ["overageAbove", "2000000", OVERAGE],
      ["overageAbove", "-5", OVERAGE],
      ["creditsBelow", "abc", "Enter the credits alert as a whole number from 1 to 1,000,000,000, or leave it empty."],
      ["percents", "50, eighty", "Give up to 10 percents, each a whole number from 1 to 1,000 given once (for example 50, 80, 100), or none."],
    ]) {
      const r = await alert({ [field]: value });
      expect([value, r.status, r.body.error]).toEqual([value, 400, error]);
    }
  });

  test("a top-up form without the page's idempotency key says to reload, not that a header is missing", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    const post = await poster(orgId, "billing/top-ups");
    for (const idempotencyKey of [undefined, "", "has spaces"]) {
      const r = await post({ intent: "buy", metric: "api_call", packs: "1", ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
      expect([idempotencyKey, r.status, r.body.error]).toEqual([
        idempotencyKey,
        400,
        "This page is out of date: reload it and buy again. Nothing was charged.",
      ]);
    }
    const r = await post({ intent: "buy", metric: "api_call", packs: "101", idempotencyKey: `portal-${crypto.randomUUID()}` });
    expect([r.status, r.body.error]).toEqual([400, "Buy from 1 to 100 packs, as a whole number."]);
  });

  test("a webhook URL over the limit is called too long, with the limit", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    const post = await poster(orgId, "webhooks");
    const r = await post({ intent: "create", url: `https://example.com/${"a".repeat(5000)}`, eventTypes: "api_key.created" });
    expect([r.status, r.body.error]).toEqual([400, "The URL is too long: at most 2,000 characters."]);
    expect((await post({ intent: "create", url: "", eventTypes: "api_key.created" })).body.error).toBe(
      "Enter the endpoint's URL, for example https://example.com/webhooks.",
    );
    expect((await sql`select id from webhook_endpoints where org_id = ${orgId}`).length).toBe(0);
  });
});
