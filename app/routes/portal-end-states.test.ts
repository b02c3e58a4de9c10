// The portal's end states and first run (issue 25), read through the pages' loaders: the one
// past-due banner's figures in the portal frame, and the dashboard's first-run checklist, which
// ticks itself from the org's keys, their first use and the period's usage.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../test/app";
import { signIn, until } from "../../test/billing";
import { api, orgWithKey, rid, setSubscriptionMirror } from "../../test/factories";
import { createApiKey } from "../server/auth/keys.server";
import { createOrg } from "../server/orgs/orgs.server";
import { sql } from "../server/platform/db.server";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app?.stop();
});

const routeData = async <T>(cookie: string, path: string, route: string) => {
  const r = await fetch(`${app.url}${path}?_data=${encodeURIComponent(route)}`, { headers: { cookie } });
  expect(r.status).toBe(200);
  return (await r.json()) as T;
};
type Frame = { due: { status: string; amountDue: number; currency: string | null; failedAt: string | null; graceEndsAt: string | null } | null };
type Dashboard = { firstRun: { keys: number; keyUsed: boolean; usageRecorded: boolean } | null; baseUrl: string };

async function openInvoice(orgId: string, id: string, amountDue: number, created: Date, status = "open") {
  await sql`insert into invoices (id, org_id, number, status, currency, amount_due, amount_paid, total, stripe_created_at)
            values (${id}, ${orgId}, ${id}, ${status}, 'usd', ${amountDue}, 0, ${amountDue}, ${created.toISOString()})`;
}

describe("the past-due banner", () => {
  test("past due: the open invoices' amount, since the oldest failed, and until when API calls continue", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    await sql`update subscriptions set status = 'past_due' where org_id = ${orgId}`;
    const failed = new Date(Date.now() - 2 * 86_400_000);
    await openInvoice(orgId, `in_${rid()}`, 2900, failed);
    await openInvoice(orgId, `in_${rid()}`, 1500, new Date());
    await openInvoice(orgId, `in_${rid()}`, 9900, new Date(Date.now() - 40 * 86_400_000), "paid");
    const { due } = await routeData<Frame>(await signIn(app, orgId), "/dashboard", "routes/_portal");
    expect(due).toMatchObject({ status: "past_due", amountDue: 4400, currency: "usd", failedAt: failed.toISOString() });
    const [{ grace }] = await sql`select grace_ends(period_start, make_interval(days => 7)) as grace from subscriptions where org_id = ${orgId}`;
    expect(due?.graceEndsAt).toBe(new Date(grace).toISOString()); // the app's default PAST_DUE_GRACE_DAYS
  });

  test("unpaid: the banner stays, with no grace left; a paid-up org has no banner", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    const cookie = await signIn(app, orgId);
    expect((await routeData<Frame>(cookie, "/dashboard", "routes/_portal")).due).toBeNull();
    await sql`update subscriptions set status = 'unpaid' where org_id = ${orgId}`;
    await openInvoice(orgId, `in_${rid()}`, 2900, new Date());
    expect((await routeData<Frame>(cookie, "/dashboard", "routes/_portal")).due).toMatchObject({ status: "unpaid", amountDue: 2900, graceEndsAt: null });
  });

  test("the banner is in the page a past-due org sees, with the amount and Update card and pay", async () => {
    const { orgId } = await orgWithKey({ plan: "starter" });
    await sql`update subscriptions set status = 'past_due' where org_id = ${orgId}`;
    await openInvoice(orgId, `in_${rid()}`, 2900, new Date());
    const page = await fetch(`${app.url}/invoices`, { headers: { cookie: await signIn(app, orgId) } });
    const html = (await page.text()).replaceAll("<!-- -->", "");
    expect(html).toContain("$29.00 is unpaid since");
    expect(html).toContain("Update card and pay");
    expect(html.match(/data-testid="payment-due"/g)).toHaveLength(1);
  });
});

describe("the first-run checklist", () => {
  test("ticks itself: a key, its first call, then the usage on the dashboard; no checklist without a plan", async () => {
    const orgId = `org_fr${Date.now().toString(36)}`;
    await createOrg({ id: orgId, name: "First run", email: "owner@example.com" });
    const cookie = await signIn(app, orgId);
    expect((await routeData<Dashboard>(cookie, "/dashboard", "routes/_portal.dashboard")).firstRun).toBeNull();
    await setSubscriptionMirror({ orgId, planCode: "starter" });
    const data = await routeData<Dashboard>(cookie, "/dashboard", "routes/_portal.dashboard");
    expect(data.firstRun).toEqual({ keys: 0, keyUsed: false, usageRecorded: false });
    expect(data.baseUrl).toMatch(/^http/);

    const { key } = await createApiKey({ orgId, name: "first" });
    expect((await routeData<Dashboard>(cookie, "/dashboard", "routes/_portal.dashboard")).firstRun).toEqual({ keys: 1, keyUsed: false, usageRecorded: false });
    // A quota check is a call: the key's last use is written in a batch, within seconds.
    expect((await api(app.url, key).quota()).status).toBe(200);
    await until(async () => (await routeData<Dashboard>(cookie, "/dashboard", "routes/_portal.dashboard")).firstRun?.keyUsed, 15_000);
    expect((await routeData<Dashboard>(cookie, "/dashboard", "routes/_portal.dashboard")).firstRun?.usageRecorded).toBe(false);
    expect((await api(app.url, key).record({ request_id: rid(), quantity: 1 })).status).toBe(200);
    expect((await routeData<Dashboard>(cookie, "/dashboard", "routes/_portal.dashboard")).firstRun).toEqual({ keys: 1, keyUsed: true, usageRecorded: true });
  }, 20_000);

  test("the dashboard page shows the checklist with the real base URL until it is done, then not at all", async () => {
    const orgId = `org_fs${Date.now().toString(36)}`;
    await createOrg({ id: orgId, name: "First steps", email: "owner@example.com" });
    await setSubscriptionMirror({ orgId, planCode: "starter" });
    const cookie = await signIn(app, orgId);
    const page = async () => (await fetch(`${app.url}/dashboard`, { headers: { cookie } })).text();
    const before = await page();
    expect(before).toContain("Get started");
    expect(before).toContain(`${app.url}/api/v1/usage`);
    const { key } = await createApiKey({ orgId, name: "first" });
    expect((await api(app.url, key).record({ request_id: rid(), quantity: 1 })).status).toBe(200);
    await until(async () => !(await page()).includes("Get started"), 15_000);
  }, 20_000);
});
