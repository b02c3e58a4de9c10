// /admin with 1,000 orgs: the org search and an org's detail are a fixed number of statements
// whatever the number of orgs (counted on the pool), search and pages find what they should, the
// page answers in time, only platform admins see an org's detail, and the HTML goes out compressed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApp, type TestApp } from "../../../test/app";
import { signIn, startStripeWithoutWebhooks } from "../../../test/billing";
import { orgWithKey } from "../../../test/factories";
import { appendAudit } from "../events/audit.server";
import { sql } from "../platform/db.server";
import { NO_ORGS, ORG_PAGE_SIZE, orgDetail, orgFilterOf, searchOrgs } from "./org-directory.server";

const ORGS = 1000;
let app: TestApp;
let stopStripe: () => Promise<void>;
let admin: { orgId: string; key: string };

/** How many statements `run` sends on the app's pool (postgres.js calls `debug` once per statement). */
async function statementsOf<T>(run: () => Promise<T>): Promise<{ result: T; statements: number }> {
  let statements = 0;
  const options = sql.options as { debug: unknown };
  options.debug = () => {
    statements++;
  };
  try {
    return { result: await run(), statements };
  } finally {
    options.debug = false;
  }
}

/** `count` orgs in three statements: o_00000 … named "Bulk 0" …, a third past due, every tenth without a plan. */
async function seedOrgs(count: number) {
  await sql`
    insert into organisations (id, name, owner_email, created_at)
    select 'org_bulk' || lpad(i::text, 5, '0'), 'Bulk ' || i, 'owner' || i || '@bulk.example', now() - make_interval(secs => i)
      from generate_series(0, ${count - 1}) i`;
  await sql`
    insert into subscriptions (org_id, plan_code, status, period_start, period_end)
    select 'org_bulk' || lpad(i::text, 5, '0'), case when i % 2 = 0 then 'starter' else 'growth' end,
           case when i % 3 = 0 then 'past_due' else 'active' end, now() - interval '1 day', now() + interval '29 days'
      from generate_series(0, ${count - 1}) i where i % 10 <> 9`;
  await sql`
    insert into usage_counters (org_id, metric, period_start, period_end, period_key, included, used)
    select org_id, 'api_call', period_start, period_end, to_char(period_start at time zone 'UTC', 'YYYY-MM'), 1000, 7
      from subscriptions where org_id like 'org_bulk%'`;
}

beforeAll(async () => {
  const local = await startStripeWithoutWebhooks();
  stopStripe = () => local.stop();
  admin = await orgWithKey({ plan: "starter" });
  await seedOrgs(ORGS);
  app = await startApp({ ADMIN_EMAILS: "owner@example.com" });
}, 60_000);
afterAll(async () => {
  await app?.stop();
  await stopStripe?.();
});

describe("the org search", () => {
  test("one statement per page with 1,000 orgs; pages are 25 newest first and reach every org once", async () => {
    await searchOrgs({ q: "bulk", page: 1 }); // the first run of a statement also describes it
    const first = await statementsOf(() => searchOrgs({ q: "bulk", page: 1 }));
    expect(first.statements).toBe(1);
    expect(first.result.total).toBe(ORGS);
    expect(first.result.pages).toBe(ORGS / ORG_PAGE_SIZE);
    expect(first.result.rows.map((r) => r.id).slice(0, 2)).toEqual(["org_bulk00000", "org_bulk00001"]);
    expect(first.result.rows[0]).toMatchObject({ plan_code: "starter", status: "past_due", used: 7, included: 1000 });
    const seen = new Set<string>();
    for (let page = 1; page <= first.result.pages; page++) {
      const { result, statements } = await statementsOf(() => searchOrgs({ q: "bulk", page }));
      expect(statements).toBe(1);
      expect(result.rows.length).toBe(ORG_PAGE_SIZE);
      for (const r of result.rows) seen.add(r.id);
    }
    expect(seen.size).toBe(ORGS);
    // Past the last page: nothing listed, the total still right.
    const beyond = await searchOrgs({ q: "bulk", page: 41 });
    expect(beyond).toMatchObject({ rows: [], total: ORGS, page: 41 });
  });

  test("finds an org by name, id or owner email; status and plan filter; LIKE wildcards match literally", async () => {
    expect((await searchOrgs({ q: "owner417@bulk.example", page: 1 })).rows.map((r) => r.id)).toEqual(["org_bulk00417"]);
    expect((await searchOrgs({ q: "ORG_BULK00417", page: 1 })).rows.map((r) => r.id)).toEqual(["org_bulk00417"]);
    expect((await searchOrgs({ q: "Bulk 999", page: 1 })).total).toBe(1);
    const seeded = [...Array(ORGS).keys()].filter((i) => i % 10 !== 9);
    expect((await searchOrgs({ q: "bulk", status: "past_due", page: 1 })).total).toBe(seeded.filter((i) => i % 3 === 0).length);
    expect((await searchOrgs({ q: "bulk", status: "none", page: 1 })).total).toBe(100);
    expect((await searchOrgs({ q: "bulk", plan: "growth", status: "active", page: 1 })).total).toBe(seeded.filter((i) => i % 2 === 1 && i % 3 !== 0).length);
    expect((await searchOrgs({ q: "bulk%", page: 1 })).total).toBe(0);
    expect((await searchOrgs({ q: "bulk_0", page: 1 })).total).toBe(0);
  });

  test("a filter that does not parse is named, not guessed", () => {
    expect(orgFilterOf(new URLSearchParams("status=sleeping")).error).toBe("Unknown subscription status.");
    expect(orgFilterOf(new URLSearchParams("page=0")).error).toBe("Pages start at 1.");
    expect(orgFilterOf(new URLSearchParams(`q=${"x".repeat(201)}`)).error).toBe("Search for at most 200 characters.");
    expect(orgFilterOf(new URLSearchParams("q=%20acme%20&status=&page=2"))).toEqual({ filter: { q: "acme", page: 2 }, error: null });
    expect(NO_ORGS.rows).toEqual([]);
  });
});

describe("an org's detail", () => {
  test("a fixed number of statements, the same for an org with 1 or 30 audit entries", async () => {
    await orgDetail("org_bulk00003"); // the first run of a statement also describes it
    const { statements, result } = await statementsOf(() => orgDetail("org_bulk00003"));
    expect(result.org).toMatchObject({ id: "org_bulk00003", plan_code: "growth", status: "past_due" });
    expect([...result.usage]).toEqual([{ metric: "api_call", period_key: expect.any(String), included: 1000, used: 7, credit_used: 0, overage_used: 0 }]);
    for (let i = 0; i < 30; i++) await appendAudit({ orgId: "org_bulk00003", action: "api_key.created", target: `key_${i}` });
    const again = await statementsOf(() => orgDetail("org_bulk00003"));
    expect(again.statements).toBe(statements);
    expect(statements).toBeLessThanOrEqual(7);
    expect(again.result.audit.length).toBe(20);
    await expect(orgDetail("org_nobody")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("/admin over HTTP with 1,000 orgs", () => {
  test("the page answers in time, lists page 40 and a search, and goes out compressed", async () => {
    const cookie = await signIn(app, admin.orgId);
    const get = (path: string, encoding = "br") => fetch(`${app.url}${path}`, { headers: { cookie, "accept-encoding": encoding } });
    await get("/admin"); // warm: the first render compiles and fills caches
    const started = performance.now();
    const page = await get("/admin");
    const html = await page.text();
    // Generous: a page with a query per org would take seconds here, not this.
    expect(performance.now() - started).toBeLessThan(3000);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-encoding")).toBe("br");
    // The 1,000 and the admin's own org.
    expect(html).toContain("1,001 organisations · page 1 of 41");
    const last = await (await get("/admin?q=bulk&page=40")).text();
    expect(last).toContain("org_bulk00999");
    expect(last).toContain("page 40 of 40");
    const found = await (await get("/admin?q=owner5%40bulk.example")).text();
    expect(found).toContain("1 organisation · page 1 of 1");
    const bad = await get("/admin?status=sleeping");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("Unknown subscription status.");

    const gzip = await get("/admin", "gzip");
    expect(gzip.headers.get("content-encoding")).toBe("gzip");
    const plain = await fetch(`${app.url}/admin`, { headers: { cookie, "accept-encoding": "identity" } });
    expect(plain.headers.get("content-encoding")).toBeNull();
    const plainBytes = (await plain.arrayBuffer()).byteLength;
    const raw = async (encoding: string) => {
      // Bun's fetch decompresses; ask for the bytes on the wire with decompress off.
      const r = await fetch(`${app.url}/admin`, { headers: { cookie, "accept-encoding": encoding }, decompress: false } as RequestInit);
      return (await r.arrayBuffer()).byteLength;
    };
    const [br, gz] = [await raw("br"), await raw("gzip")];
    console.info(`/admin with ${ORGS} orgs: ${plainBytes} bytes plain, ${gz} gzip, ${br} brotli`);
    expect(br).toBeLessThan(plainBytes / 4);
    expect(gz).toBeLessThan(plainBytes / 4);
  }, 30_000);

  test("an org's detail page is for platform admins only", async () => {
    const adminCookie = await signIn(app, admin.orgId);
    const detail = await fetch(`${app.url}/admin/orgs/org_bulk00003`, { headers: { cookie: adminCookie } });
    expect(detail.status).toBe(200);
    const html = await detail.text();
    expect(html).toContain("Bulk 3");
    expect(html).toContain("Usage this period");
    expect((await fetch(`${app.url}/admin/orgs/org_nobody`, { headers: { cookie: adminCookie } })).status).toBe(404);
    const customer = await fetch(`${app.url}/dev/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: app.url },
      body: new URLSearchParams({ email: "someone@example.com", orgId: "org_someone_else" }),
    });
    const customerCookie = customer.headers.get("set-cookie")!.split(";")[0];
    expect((await fetch(`${app.url}/admin/orgs/org_bulk00003`, { headers: { cookie: customerCookie } })).status).toBe(404);
  });

  test("a NUL in the address is a 404 for an org and a named refusal for a search, never a 500", async () => {
    const cookie = await signIn(app, admin.orgId);
    for (const id of ["%00", "org_bulk00003%00", "org%00x"])
      expect([id, (await fetch(`${app.url}/admin/orgs/${id}`, { headers: { cookie } })).status]).toEqual([id, 404]);
    const search = await fetch(`${app.url}/admin?q=%00&_data=routes/_portal.admin`, { headers: { cookie } });
    expect(search.status).toBe(400);
    expect(((await search.json()) as { orgs: { error: string } }).orgs.error).toBe("Search text must not contain NUL characters.");
  });
});
