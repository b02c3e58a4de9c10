// Notification emails through a real SMTP server: two app processes, the real worker, one org
// driven across 80% and 100% at once — one email per threshold; a failing SMTP server is retried.
import { describe, expect, test } from "bun:test";
import { until } from "../../../test/billing";
import { api, orgWithKey, rid } from "../../../test/factories";
import { jobsIdle } from "../../../test/jobs";
import { startMailingSystem } from "../../../test/notify";
import { updateOrgSettings } from "../orgs/settings.server";
import { sql } from "../platform/db.server";
import { sendEmail } from "./email.server";

const system = startMailingSystem();

const outboxOf = (orgId: string) =>
  sql<{ subject: string; status: string; attempts: number; to_address: string }[]>`
    select subject, status, attempts, to_address from email_outbox where org_id = ${orgId} order by created_at`;

describe("usage emails", () => {
  test("two app processes driving one org across 80% and 100% at once send exactly one email per threshold, through a flaky SMTP server", async () => {
    const { orgId, key } = await orgWithKey({ included: 100 });
    // The org's first email is refused (451): its job must retry it.
    system.smtp.refuseOnce((raw) => raw.includes(`X-Metered-Org: ${orgId}`));
    const clients = [api(system.a.url, key), api(system.b.url, key)];
    for (let wave = 0; wave < 10; wave++) await Promise.all(Array.from({ length: 24 }, (_, i) => clients[i % 2].record({ request_id: rid(), quantity: 1 })));
    const mine = () => system.smtp.mails.filter((m) => m.raw.includes(`X-Metered-Org: ${orgId}`));
    await until(async () => mine().length === 2, 20_000);
    await jobsIdle(["dispatch_event", "send_email"]); // nothing more arrives
    expect(
      mine()
        .map((m) => m.subject)
        .sort(),
    ).toEqual([`Test ${orgId} has used 80% of its included API calls`, `Test ${orgId} has used all of its included API calls`]);
    expect(mine().every((m) => m.to === "owner@example.com")).toBe(true);
    const mail = mine()[0].raw;
    expect(mail).toContain("text/plain");
    expect(mail).toContain("text/html");
    expect(mail).toContain("/dashboard"); // the portal link
    expect(system.smtp.refused()).toBe(1);
    const outbox = await outboxOf(orgId);
    expect(outbox.map((o) => o.status)).toEqual(["sent", "sent"]);
    // One of them was refused once and sent on the job's retry.
    expect(outbox.map((o) => o.attempts).sort()).toEqual([1, 2]);
  });

  test("the billing email from the settings receives them, and a muted type sends nothing", async () => {
    const { orgId, key } = await orgWithKey({ included: 10 });
    await updateOrgSettings({
      orgId,
      timeZone: "Asia/Tokyo",
      billingEmail: "billing@acme.test",
      mutedEmails: ["usage.threshold_reached"],
      actor: "t",
      requestId: null,
    });
    await api(system.a.url, key).record({ request_id: rid(), quantity: 10 });
    // Both threshold events dispatched (their jobs done): had an email been queued, its outbox row exists now.
    await until(
      async () =>
        (
          await sql`select 1 from events e where e.org_id = ${orgId} and e.type = 'usage.threshold_reached'
                     and not exists (select 1 from graphile_worker._private_jobs j where j.key = 'event:' || e.id)`
        ).length === 2,
    );
    const [{ n }] = await sql<{ n: number }[]>`
      select count(*)::int as n from email_outbox o join events e on e.id = o.event_id
       where o.org_id = ${orgId} and e.type = 'usage.threshold_reached'`;
    expect(n).toBe(0);
    expect((await outboxOf(orgId)).length).toBe(0);
    await updateOrgSettings({ orgId, timeZone: "Asia/Tokyo", billingEmail: "billing@acme.test", mutedEmails: [], actor: "t", requestId: null });
    await sql`select emit_event(${orgId}, 'subscription.updated', ${JSON.stringify({ planCode: "growth", previousPlanCode: "starter", status: "active", periodStart: new Date().toISOString(), periodEnd: new Date(Date.now() + 86400_000 * 30).toISOString() })}::jsonb)`;
    await until(async () => (await outboxOf(orgId)).some((o) => o.status === "sent"), 15_000);
    expect((await outboxOf(orgId)).map((o) => o.to_address)).toEqual(["billing@acme.test"]);
  });
});

describe("without SMTP_URL", () => {
  test("an email stays in the local outbox, marked local, never dropped", async () => {
    const { orgId } = await orgWithKey();
    await sql`insert into events (id, org_id, type, data) values (${`evt_l${orgId}`}, ${orgId}, 'webhook.test', '{}')`;
    await sql`insert into email_outbox (id, org_id, event_id, to_address, subject, text_body, html_body)
              values (${`em_${orgId}`}, ${orgId}, ${`evt_l${orgId}`}, 'owner@example.com', 's', 't', 'h')`;
    await sendEmail(`em_${orgId}`); // this test process has no SMTP_URL
    expect((await outboxOf(orgId)).map((o) => o.status)).toEqual(["local"]);
  });
});
